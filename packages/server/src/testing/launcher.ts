import { readdirSync, readFileSync } from 'node:fs';
import type { ExecutorExit, GangSpec, LaunchSpec, Launcher } from '../execution/launcher.js';

/** The next end the launcher reports for this executor. */
export function exitOf(launcher: Launcher, name: string): Promise<ExecutorExit> {
  return new Promise((resolve) => {
    const listener = (exit: ExecutorExit) => {
      if (exit.name !== name) return;
      launcher.off('exited', listener);
      resolve(exit);
    };
    launcher.on('exited', listener);
  });
}

/** The parts of a launch spec a launcher test cares about; the rest (identity, resources) is filled in. */
export type BareSpec = Pick<LaunchSpec, 'name' | 'argv' | 'cwd' | 'env' | 'logDir'> & Partial<LaunchSpec>;

/** A gang of these executors, as the orchestrator would submit it (trial 1, ranks in order, no resources asked). */
export function gangOf(executors: BareSpec[], trialId = 1): GangSpec {
  return {
    trialId,
    experimentId: 'experiment-0-0001',
    executors: executors.map((e, rank) => ({ trialId, role: 'Worker', rank, replica: rank, resources: { cpu: 0, memoryMb: 0, gpu: 0 }, nodes: null, nodeSelector: null, ...e })),
  };
}

/** A handle as the local launcher makes one, for recovery tests that start from a pid. */
export function localHandle(pid: number | null): string | null {
  return pid === null ? null : String(pid);
}

/** Whether a process whose argv holds `marker` runs on this machine. */
export function runningHere(marker: string): boolean {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // A zombie has an empty command line: it runs nothing.
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').includes(marker)) return true;
    } catch {
      // gone meanwhile
    }
  }
  return false;
}
