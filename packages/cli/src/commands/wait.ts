/** Waiting for an experiment to end, and following its logs until it does: `wait`, `logs -f`, `create --wait|--follow`. */
import { isFinal, PeriscopeTimeoutError, type Experiment, type FinalStatus, type WaitProgress } from '@periscope/sdk';
import type { Context } from '../context.js';
import { CommandFailure, EXIT } from '../exit-codes.js';
import { ProgressLine } from '../output/progress.js';
import { span } from '../output/time.js';
import { printLine, podLabels } from './logs.js';

export interface WaitFlags {
  /** Seconds. */
  timeout?: number;
}

/** Waits (with a live line on a terminal) and reports the end; exits 1 unless the experiment Succeeded. */
export async function waitAndReport(ctx: Context, id: string, flags: WaitFlags): Promise<void> {
  const periscope = ctx.periscope;
  const progress = !ctx.json && ctx.stderrIsTerminal ? new ProgressLine(id, ctx.err) : undefined;
  let executors: { running: number; total: number } | undefined;
  let counting = false;
  const onProgress = (p: WaitProgress) => {
    if (progress) {
      progress.update(p.status, p.elapsedMs, executors);
      // How many executors run: read beside the poll, shown on the next redraw.
      if (p.status === 'Running' && !counting) {
        counting = true;
        periscope.experiments
          .trials(id)
          .then((trials) => {
            const xs = trials.at(-1)?.executors ?? [];
            executors = { running: xs.filter((x) => x.state === 'Running').length, total: xs.length };
          })
          .catch(() => {})
          .finally(() => (counting = false));
      }
    } else if (p.changed && !ctx.json && !isFinal(p.status)) {
      ctx.note(`${id} ${p.status}`);
    }
  };
  let result;
  try {
    result = await periscope.experiments.wait(id, {
      onProgress,
      ...(flags.timeout !== undefined && { timeoutMs: flags.timeout * 1000 }),
    });
  } catch (error) {
    if (error instanceof PeriscopeTimeoutError) throw new CommandFailure(error.message);
    throw error;
  } finally {
    progress?.stop();
  }
  await report(ctx, id, result.status, result.experiment);
}

/** Prints the new log lines until the experiment ends, then reports the end like `wait`. */
export async function followAndReport(ctx: Context, experiment: Experiment, flags: { onlyMaster?: boolean; tail?: number }): Promise<void> {
  const id = experiment.experimentId;
  const labels = podLabels(experiment, flags.onlyMaster === true, ctx.out);
  const lines = ctx.periscope.experiments.followLogs(id, {
    ...(flags.onlyMaster !== undefined && { onlyMaster: flags.onlyMaster }),
    ...(flags.tail !== undefined && { tail: flags.tail }),
  });
  let step = await lines.next();
  for (; !step.done; step = await lines.next()) printLine(ctx, labels, step.value);
  const last = step.value.status === 'Deleted' ? experiment : await ctx.periscope.experiments.get(id);
  // The log lines own stdout here; the ending goes to stderr.
  await report(ctx, id, step.value.status, last, 'note');
}

/**
 * The end of a wait: the result (stdout; JSON with --json) or, when log lines own stdout, a note on stderr.
 * Anything but Succeeded exits 1.
 */
async function report(ctx: Context, id: string, status: FinalStatus, experiment: Experiment, mode: 'result' | 'note' = 'result'): Promise<void> {
  const reason = status === 'Failed' ? await failureReason(ctx, id) : undefined;
  if (mode === 'result' && ctx.json) {
    ctx.printJson({ status, experiment, ...(reason && { message: reason }) });
  } else {
    const style = mode === 'note' ? ctx.err : ctx.out;
    const text =
      status === 'Succeeded'
        ? `${id} ${style.status(status)} in ${span(experiment.runningTime, experiment.finishedTime)}`
        : status === 'Deleted'
          ? `${id} was ${style.status(status)} while waiting`
          : `${id} ${style.status(status)}${reason ? `: ${reason}` : ''}`;
    if (mode === 'note') ctx.note(text);
    else ctx.print(text);
  }
  if (status !== 'Succeeded') throw new CommandFailure('', EXIT.FAILED);
}

/** Why a trial ended badly, in the server's words ("worker-0 exited with code 3"), when it says. */
async function failureReason(ctx: Context, id: string): Promise<string | undefined> {
  try {
    const message = (await ctx.periscope.experiments.trials(id)).at(-1)?.message;
    // The server may lead with the state it reports ("Failed: …"); the line already says it.
    return message?.replace(/^Failed:\s*/i, '') || undefined;
  } catch {
    return undefined;
  }
}
