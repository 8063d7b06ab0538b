import type { ExecutorExit } from './launcher.js';
import type { ExecutorState } from '../trials/store.js';

/** The executor state an end leads to. */
export function stateOfExit(exit: ExecutorExit): ExecutorState {
  if (exit.cause === 'canceled') return 'Canceled';
  if (exit.cause === 'lost') return 'Lost';
  return exit.exitCode === 0 ? 'Succeeded' : 'Failed';
}

/** How an executor ended, in words, and whose fault it was (user code or the platform). */
export function describeExit(name: string, exit: ExecutorExit): string {
  return `${howItEnded(name, exit)}${leftoversNote(exit) ?? ''}`;
}

/** What the launcher had to kill after the command ended (background children, daemons), in words. */
export function leftoversNote(exit: ExecutorExit): string | undefined {
  if (!exit.leftovers) return undefined;
  return `; killed ${exit.leftovers} process${exit.leftovers === 1 ? '' : 'es'} it left running`;
}

function howItEnded(name: string, exit: ExecutorExit): string {
  switch (exit.cause) {
    case 'exited':
      return `${name} exited with code ${exit.exitCode}`;
    case 'signaled':
      return `${name} was killed by ${exit.signal ?? 'a signal'}${exit.signal === 'SIGKILL' ? ' (out of memory, or killed from outside)' : ''}`;
    case 'canceled':
      return `${name} was canceled`;
    case 'lost':
      return `${name} was lost: its process disappeared without recording an exit code (platform fault)`;
    case 'timeout':
      return `${name} ran past its time limit and was stopped`;
    case 'out-of-memory':
      return `${name} ran out of memory and was killed`;
    case 'node-failure':
      return `${name} was lost with its node (platform fault)`;
    case 'preempted':
      return `${name} was preempted by the cluster (platform fault)`;
  }
}
