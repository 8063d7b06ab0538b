/**
 * What a launch that fails says. Every step between a trial's placement and its executors running (reading
 * and marking it, planning, code sync, the task token, the executors' environment, the spawn) can fail; the
 * trial then ends Failed with the step and the reason in its message, which the experiment's status answer
 * carries too. The orchestrator names the steps with launchStep and ends the trial in one place (failLaunch).
 */
import { stat } from 'node:fs/promises';
import type { LaunchSpec } from './launcher.js';

/** A failure of one named step of a launch; `cause` is what the step threw. */
export class LaunchStepError extends Error {
  constructor(
    readonly step: string,
    cause: unknown,
  ) {
    super(`${step}: ${reasonOf(cause)}`, { cause });
  }
}

/** Runs one step of a launch; what it throws is rethrown as a LaunchStepError naming the step ("issue the task token"). */
export async function launchStep<T>(step: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw error instanceof LaunchStepError ? error : new LaunchStepError(step, error);
  }
}

/** The trial's message for a launch that threw: the step when it is known, then the reason in the error's words. */
export function launchFailureMessage(error: unknown): string {
  if (error instanceof LaunchStepError) return `Launch failed at "${error.step}": ${reasonOf(error.cause)}`;
  return `Launch failed: ${reasonOf(error)}`;
}

/** The message of a trial left Preparing by a launch that ended without recording why (the reconciler settles it). */
export const STALLED_LAUNCH_MESSAGE = 'Launch failed: it stopped before the executors started and could not record why (the server log has the reason).';

/**
 * Why the executors could not be spawned, in words. Node reports a missing or non-directory work dir as
 * `spawn /bin/sh ENOENT` (as if the shell were missing), so the work dirs are looked at first.
 */
export async function whySpawnFailed(error: unknown, specs: LaunchSpec[]): Promise<string> {
  for (const cwd of new Set(specs.map((s) => s.cwd))) {
    const found = await stat(cwd).catch(() => null);
    if (!found) return `the work dir ${cwd} does not exist (${reasonOf(error)})`;
    if (!found.isDirectory()) return `the work dir ${cwd} is not a directory (${reasonOf(error)})`;
  }
  return reasonOf(error);
}

function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\.$/, '') || 'unknown error';
}
