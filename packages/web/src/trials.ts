/** Reading trials and executors: finished, waiting, how an executor ended. */
import type { Executor, Trial } from '@periscope/sdk';

const FINISHED_TRIAL_STATES = ['Succeeded', 'Failed', 'Canceled'];

export function trialFinished(trial: Trial): boolean {
  return FINISHED_TRIAL_STATES.includes(trial.state);
}

/** Waiting to run: queued, or an executor not started yet. Its `message` then says why. */
export function trialPending(trial: Trial): boolean {
  return trial.state === 'Queued' || trial.executors.some((e) => e.state === 'Pending');
}

/** How an executor ended, in words. */
export function endCause(executor: Executor): string {
  if (executor.cause) return executor.cause;
  if (executor.signal) return `signal ${executor.signal}`;
  if (executor.exitCode !== null) return `exit code ${executor.exitCode}`;
  return '—';
}

/** Hyperparameter names across trials, in first-seen order. */
export function hyperparameterNames(trials: readonly Trial[]): string[] {
  const names = new Set<string>();
  for (const trial of trials) for (const name of Object.keys(trial.hparams)) names.add(name);
  return [...names];
}
