/**
 * After a restart: re-attach to executors that survived (by their handles), settle those that ended while
 * the server was down and trials whose executors had all ended, queue again what was queued or half-prepared,
 * and carry on with cancels that were asked for. The reconciler calls reconcileTrial as its backstop.
 */
import type { ExperimentRecord } from '../experiments/store.js';
import { isExecutorEnded, type ExecutorRecord, type TrialRecord } from '../trials/store.js';
import { activeTrial, isSearch, type ActiveTrial, type Engine } from './engine.js';
import type { RecoverableExecutor } from './launcher.js';
import type { ExecutorPlan } from './plan.js';

export interface RecoveryStarts {
  /** Queues the first trial of an experiment that has none. */
  start(experiment: ExperimentRecord): Promise<void>;
  /** Prepares it (autoStart false). */
  prepare(experiment: ExperimentRecord): Promise<void>;
}

export class Recovery {
  constructor(
    private readonly e: Engine,
    private readonly starts: RecoveryStarts,
  ) {}

  async recover(): Promise<void> {
    const { e } = this;
    const { o } = e;
    const toRecover: RecoverableExecutor[] = [];
    for (const trial of await o.trials.unfinished()) {
      const experiment = await e.runOf(trial);
      if (!experiment || experiment.status === 'Deleted') continue;
      const executors = await o.trials.executors(trial.id);
      const plans = await e.plan(experiment.id, trial.number, experiment.spec);
      if (trial.state === 'Running') {
        toRecover.push(...(await this.attach(trial, experiment, executors, plans)));
      } else if (trial.state === 'Preparing' && trial.startedAt === null && experiment.cancelRequestedAt === null) {
        // Caught in the middle of a prepare (nothing was started): prepare again.
        void e.serial(trial.id, () => e.steps.prepareTrial(trial, plans));
      } else {
        // Queued, or caught half-way through preparing: anything it had started is stopped, then it queues again.
        if (trial.state === 'Preparing') {
          await o.launcher.recover(executors.map((x) => this.recoverable(experiment, x)));
          await o.launcher.cancel(executors.map((x) => x.name), 0);
        }
        await o.trials.resetExecutors(trial.id);
        if (experiment.cancelRequestedAt !== null) {
          await e.lifecycle.move(trial, 'Canceled', { message: 'Canceled by request.', finishedAt: Date.now() });
          continue;
        }
        await e.lifecycle.move(trial, 'Queued');
        await e.steps.enqueue({ ...trial, state: 'Queued' }, plans);
      }
    }
    await o.launcher.recover(toRecover);
    for (const active of [...e.active.values()]) {
      // A failure recorded before the crash still stops the rest of its trial, and so does a cancel.
      if (active.mode !== 'running') void e.stopRemaining(active);
      // Every executor had ended (the server died before the trial was recorded): settle it now.
      void this.reconcileTrial(active.trial.id);
    }
    // Accepted but never given a trial: written by a server older than the one-transaction create. Last, so the
    // trials started here are not taken above for trials a crash left half-way.
    for (const experiment of (await o.experiments.list({ statuses: ['Accepted'] })).items) {
      // A search's first trials are the search driver's to create (it recovers after this); a canceled one is the reconciler's.
      if (isSearch(experiment) || experiment.cancelRequestedAt !== null || (await o.trials.ofExperiment(experiment.id)).length > 0) continue;
      if (experiment.spec.autoStart === false) await this.starts.prepare(experiment);
      else await this.starts.start(experiment);
    }
  }

  /**
   * Settles a trial recorded Running whose executors have all ended (the reconciler, recovery). One that no
   * one watches (its end was never recorded) is re-attached: the launcher reports those whose process is gone
   * from their exit files, and watches the rest.
   */
  async reconcileTrial(trialId: number): Promise<void> {
    const { e } = this;
    await e.serial(trialId, async () => {
      const trial = await e.o.trials.get(trialId);
      if (!trial || trial.state !== 'Running') return;
      const executors = await e.o.trials.executors(trialId);
      const active = e.active.get(trialId);
      if (!active) {
        const experiment = await e.runOf(trial);
        if (!experiment || experiment.status === 'Deleted') return;
        e.o.log.warn({ experimentId: experiment.id, trial: trial.number }, 'a running trial was not watched; re-attaching');
        await e.o.launcher.recover(await this.attach(trial, experiment, executors, await e.plan(experiment.id, trial.number, experiment.spec)));
        const attached = e.active.get(trialId)!;
        if (attached.mode !== 'running') void e.stopRemaining(attached);
        return e.steps.conclude(attached);
      }
      const wasRunning = active.mode === 'running';
      for (const x of executors) if (isExecutorEnded(x.state) && !active.ended.has(x.name)) noteEnded(active, x);
      if (wasRunning && active.mode !== 'running') void e.stopRemaining(active);
      await e.steps.conclude(active);
    });
  }

  /** Tracks a trial recorded Running; answers its executors that may still run, for the launcher to re-attach. */
  private async attach(trial: TrialRecord, experiment: ExperimentRecord, executors: ExecutorRecord[], plans: ExecutorPlan[]): Promise<RecoverableExecutor[]> {
    const { e } = this;
    const active = activeTrial(trial, experiment.id, executors);
    if (experiment.cancelRequestedAt !== null) active.mode = 'canceling';
    // Queued by an engine that places them itself and not started yet: their start is still to be recorded.
    if (executors.some((x) => x.state === 'Pending' && x.handle !== null)) e.placedByEngine.add(trial.id);
    e.active.set(trial.id, active);
    e.o.launcher.placer.release(trial.id);
    e.o.launcher.placer.adopt({ trialId: trial.id, priority: trial.priority, executors: plans.map((p) => p.resources) }, executors.map((x) => x.gpus));
    const toRecover: RecoverableExecutor[] = [];
    for (const x of executors) {
      e.byExecutor.set(x.name, trial.id);
      if (isExecutorEnded(x.state)) {
        noteEnded(active, x);
      } else {
        const recoverable = this.recoverable(experiment, x);
        await e.o.tailer.watch(x.name, recoverable.logDir);
        toRecover.push(recoverable);
      }
    }
    return toRecover;
  }

  /** An executor as the launcher re-attaches to it: by its handle (or, stored by an older server, its pid). */
  private recoverable(experiment: ExperimentRecord, x: ExecutorRecord): RecoverableExecutor {
    return { name: x.name, handle: x.handle ?? (x.pid !== null ? String(x.pid) : null), logDir: this.e.o.layout.executorLogs(experiment.id, x.name) };
  }
}

/** An end found in the store rather than reported by the launcher. */
function noteEnded(active: ActiveTrial, x: ExecutorRecord): void {
  active.ended.add(x.name);
  if (x.state !== 'Succeeded' && !active.cancelRequested.has(x.name) && active.mode === 'running') {
    active.mode = 'failing';
    active.failure = x.cause ?? `${x.name} exited with code ${x.exitCode}`;
  }
}
