/**
 * Cancels: a whole experiment (its intent stored first, so a server that dies half-way still ends it
 * Canceled), one trial the searcher stopped, or single executors (netunicorn's cancel of executors) while the
 * rest of their trial runs on.
 */
import { isExecutorEnded, type ExecutorRecord } from '../trials/store.js';
import { isSearch, type Engine } from './engine.js';
import { settleExperiment } from './settle.js';

export class Cancels {
  constructor(private readonly e: Engine) {}

  /** Stops one trial's processes (the searcher decided); it ends Canceled. */
  async stopTrial(trialId: number): Promise<void> {
    const { e } = this;
    e.syncing.get(trialId)?.abort('Stopped by the searcher.');
    const launched = await e.serial(trialId, async () => {
      const active = e.active.get(trialId);
      if (active) {
        active.mode = 'canceling';
        return e.remaining(active);
      }
      const trial = await e.o.trials.get(trialId);
      if (trial && ['Queued', 'Ready', 'Preparing'].includes(trial.state)) {
        e.o.launcher.placer.release(trialId);
        await e.lifecycle.move(trial, 'Canceled', { message: 'Stopped by the searcher.', finishedAt: Date.now() });
      }
      return [];
    });
    if (launched.length > 0) await e.o.launcher.cancel(launched, e.o.graceMs);
  }

  /**
   * Stops every unfinished trial of an experiment and resolves when all its processes are gone and its status
   * is Canceled. Queued trials simply leave the queue. The intent is stored first: a server that dies before
   * the processes are gone still ends the experiment Canceled (recovery and the reconciler finish the cancel).
   */
  async cancel(experimentId: string): Promise<void> {
    const { e } = this;
    await e.o.experiments.requestCancel(experimentId);
    e.canceling.set(experimentId, (e.canceling.get(experimentId) ?? 0) + 1);
    try {
      await this.cancelTrials(experimentId);
    } finally {
      const left = e.canceling.get(experimentId)! - 1;
      if (left === 0) e.canceling.delete(experimentId);
      else e.canceling.set(experimentId, left);
    }
  }

  /** True while a cancel of the whole experiment is under way (the search driver creates nothing then). */
  isCanceling(experimentId: string): boolean {
    return this.e.canceling.has(experimentId);
  }

  private async cancelTrials(experimentId: string): Promise<void> {
    const { e } = this;
    const { o } = e;
    const trials = (await o.trials.ofExperiment(experimentId)).filter((t) => ['Queued', 'Preparing', 'Ready', 'Running'].includes(t.state));
    await Promise.all(
      trials.map(async (t) => {
        // First, so a slow clone is killed now instead of being waited for on the trial's chain.
        e.syncing.get(t.id)?.abort('Canceled by request.');
        const done = new Promise<void>((resolve) => e.settled.set(t.id, [...(e.settled.get(t.id) ?? []), resolve]));
        const launched = await e.serial(t.id, async () => {
          const active = e.active.get(t.id);
          if (!active) {
            o.launcher.placer.release(t.id);
            e.settled.delete(t.id);
            const current = (await o.trials.get(t.id)) ?? t;
            await e.lifecycle.move(current, 'Canceled', { message: 'Canceled by request.', finishedAt: Date.now() });
            return false;
          }
          active.mode = 'canceling';
          return true;
        });
        if (!launched) return;
        const active = e.active.get(t.id);
        if (active) await o.launcher.cancel(e.remaining(active), o.graceMs);
        await done;
      }),
    );
    const experiment = await o.experiments.get(experimentId);
    // A plain experiment ends as its trial did (it may have ended on its own first); a search is stopped.
    if (experiment && isSearch(experiment)) await o.experiments.transition(experimentId, { status: 'Canceled', finishedAt: Date.now(), message: 'Canceled by request.' });
    else await settleExperiment(o.experiments, o.trials, experimentId);
    e.steps.pump();
  }

  /**
   * Stops some executors and lets the rest of their trials run on (netunicorn's cancel of executors). An
   * executor that has already ended is reported as such, not as an error. Resolves when those stopped are gone.
   */
  async cancelExecutors(records: ExecutorRecord[]): Promise<{ canceled: string[]; alreadyEnded: string[] }> {
    const { e } = this;
    const canceled: string[] = [];
    const alreadyEnded: string[] = [];
    const byTrial = new Map<number, ExecutorRecord[]>();
    for (const r of records) byTrial.set(r.trialId, [...(byTrial.get(r.trialId) ?? []), r]);
    await Promise.all(
      [...byTrial].map(async ([trialId, executors]) => {
        const toStop = await e.serial(trialId, async () => {
          const stop: string[] = [];
          for (const executor of executors) {
            const current = await e.o.trials.executor(executor.name);
            const active = e.active.get(trialId);
            if (!current || isExecutorEnded(current.state) || active?.ended.has(executor.name)) {
              alreadyEnded.push(executor.name);
              continue;
            }
            canceled.push(executor.name);
            await e.o.trials.updateExecutor(executor.name, { cancelRequested: true });
            if (active) {
              active.cancelRequested.add(executor.name);
              stop.push(executor.name);
            }
          }
          return stop;
        });
        if (toStop.length > 0) await e.o.launcher.cancel(toStop, e.o.graceMs);
        await e.serial(trialId, async () => {}); // their exits are recorded before answering
      }),
    );
    return { canceled: canceled.sort(), alreadyEnded: alreadyEnded.sort() };
  }
}
