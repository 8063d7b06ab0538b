/**
 * How a running trial ends: each executor's exit is recorded, a failure stops the rest of its gang, TensorFlow's
 * parameter servers are stopped once everything else has succeeded, and once every executor has ended the
 * trial is recorded as ended — or queued again while it has restarts left.
 */
import { describeExit, leftoversNote, stateOfExit } from './exit-words.js';
import type { ActiveTrial, Engine } from './engine.js';
import { isSearch } from './engine.js';
import type { ExecutorExit } from './launcher.js';
import { settleExperiment } from './settle.js';

export class Endings {
  constructor(private readonly e: Engine) {}

  async onExit(trialId: number, exit: ExecutorExit): Promise<void> {
    const { e } = this;
    const active = e.active.get(trialId);
    if (!active || active.ended.has(exit.name)) return;
    const stoppedPs = active.stoppingPs.has(exit.name);
    const requested = active.cancelRequested.has(exit.name);
    const state = stoppedPs ? 'Succeeded' : requested ? 'Canceled' : stateOfExit(exit);
    const cause = stoppedPs ? null : requested ? 'canceled by request' : exit.cause === 'exited' ? (leftoversNote(exit)?.slice(2) ?? null) : describeExit(exit.name, exit);
    const fault = stoppedPs ? null : requested ? 'cancel' : exit.fault;
    const finishedAt = Date.now();
    await e.durable.write(`record the end of ${exit.name}`, () => e.o.trials.updateExecutor(exit.name, { state, exitCode: exit.exitCode, signal: exit.signal, cause, fault, finishedAt }));
    active.ended.add(exit.name);
    await e.o.tailer.finish(exit.name);
    if (state !== 'Succeeded' && !requested) this.noteFailure(active, describeExit(exit.name, exit));
    await this.conclude(active);
  }

  /** An executor failed: the trial fails, and the rest of its executors are stopped. */
  private noteFailure(active: ActiveTrial, failure: string): void {
    if (active.mode !== 'running') return;
    active.mode = 'failing';
    active.failure = failure;
    void this.e.stopRemaining(active);
  }

  /** Finishes the trial once every executor has ended; stops TensorFlow's parameter servers when only they remain. */
  async conclude(active: ActiveTrial): Promise<void> {
    const remaining = this.e.remaining(active);
    if (remaining.length === 0) {
      if (active.mode === 'canceling') return this.finish(active, 'Canceled', 'Canceled by request.');
      if (active.mode === 'failing') return this.finish(active, 'Failed', `Failed: ${active.failure}.`);
      if (active.cancelRequested.size === active.executors.size) return this.finish(active, 'Canceled', 'Every executor was canceled.');
      return this.finish(active, 'Succeeded', active.cancelRequested.size > 0 ? `Canceled on request: ${[...active.cancelRequested].join(', ')}.` : null);
    }
    // TensorFlow parameter servers never exit by themselves: when all else has succeeded, stop them.
    if (active.mode === 'running' && remaining.every((n) => active.executors.get(n)!.role === 'Ps') && !remaining.every((n) => active.stoppingPs.has(n))) {
      for (const n of remaining) active.stoppingPs.add(n);
      void this.e.o.launcher.cancel(remaining, this.e.o.graceMs);
    }
  }

  /**
   * Records a trial's end (retried until stored), or queues a failed one again while it has restarts left. A
   * cancel asked for wins over how the processes ended: an answered cancel ends Canceled.
   */
  async finish(active: ActiveTrial, ended: 'Succeeded' | 'Failed' | 'Canceled', endMessage: string | null): Promise<void> {
    const { e } = this;
    const { o } = e;
    const { trial } = active;
    e.active.delete(trial.id);
    e.placedByEngine.delete(trial.id);
    e.waiting.delete(trial.id);
    for (const name of active.executors.keys()) e.byExecutor.delete(name);
    o.launcher.placer.release(trial.id);
    const experiment = await e.durable.write('read an experiment', () => e.runOf(trial));
    const canceled = experiment?.cancelRequestedAt != null && ended !== 'Canceled';
    const outcome = canceled ? 'Canceled' : ended;
    const message = canceled ? 'Canceled by request.' : endMessage;
    const maxRestarts = experiment?.spec.maxRestarts ?? 0;
    if (outcome === 'Failed' && experiment && trial.restarts < maxRestarts) {
      o.log.info({ experimentId: experiment.id, trial: trial.number, restarts: trial.restarts + 1 }, 'restarting failed trial');
      const restarts = trial.restarts + 1;
      await e.durable.write('queue a failed trial again', async () => {
        await o.trials.resetExecutors(trial.id);
        await e.lifecycle.move(trial, 'Queued', { restarts, message });
      });
      const plans = await e.durable.write('plan a restart', () => e.plan(experiment.id, trial.number, experiment.spec));
      await e.steps.enqueue({ ...trial, state: 'Queued', restarts }, plans);
    } else {
      const finishedAt = Date.now();
      await e.durable.write(`record the end of trial ${trial.id}`, async () => {
        await e.lifecycle.move(trial, outcome, { message, finishedAt });
        await o.taskTokens?.revoke(trial.id);
        // A search experiment ends when its searcher says so, not with one of its trials.
        if (experiment && !isSearch(experiment)) await settleExperiment(o.experiments, o.trials, experiment.id);
      });
    }
    for (const resolve of e.settled.get(trial.id) ?? []) resolve();
    e.settled.delete(trial.id);
    e.steps.pump();
  }
}
