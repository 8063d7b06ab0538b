/**
 * Drives experiments through execution: queue → place → sync code → launch → watch → settle, with cancel,
 * restarts and recovery after a crash. This is the front the rest of the server calls; the work is done by
 * its parts, which share one Engine (the trials running, one chain of changes per trial):
 * - launching.ts: queue, placement, launch and failed launches;
 * - endings.ts: exits, the TensorFlow Ps policy, a trial's end and its restarts;
 * - cancels.ts: cancel of an experiment, a trial, or single executors;
 * - two-phase.ts: prepare → start;
 * - recovery.ts: after a restart, and the reconciler's backstop;
 * - trial-lifecycle.ts: the only code that moves a trial's state, with its transition table.
 */
import type { NormalizedExperimentSpec } from '@periscope/core';
import type { ExperimentRecord } from '../experiments/store.js';
import { isTrialFinished, type ExecutorRecord, type TrialRecord } from '../trials/store.js';
import { Cancels } from './cancels.js';
import { Endings } from './endings.js';
import { Engine, type OrchestratorOptions } from './engine.js';
import { Launching, markExperimentRunning } from './launching.js';
import { Recovery } from './recovery.js';
import { TrialLifecycle } from './trial-lifecycle.js';
import { TwoPhase, type Admission } from './two-phase.js';

export type { Admission } from './two-phase.js';
export type { OrchestratorOptions, TaskTokens } from './engine.js';
export { isSearch } from './engine.js';

/** How long a closing server waits for the changes under way (a slow clone is not waited for to its end). */
const CLOSE_WAIT_MS = 2000;

export class Orchestrator {
  private readonly e: Engine;
  private readonly launching: Launching;
  private readonly endings: Endings;
  private readonly cancels: Cancels;
  private readonly twoPhase: TwoPhase;
  private readonly recovery: Recovery;

  constructor(o: OrchestratorOptions) {
    const e = (this.e = new Engine(o, new TrialLifecycle(o.trials, o.bus, o.log)));
    this.launching = new Launching(e);
    this.endings = new Endings(e);
    this.cancels = new Cancels(e);
    this.twoPhase = new TwoPhase(e, (plans) => this.launching.checkPlacement(plans));
    this.recovery = new Recovery(e, { start: (x) => this.start(x), prepare: (x) => this.twoPhase.prepare(x) });
    e.steps = {
      enqueue: (trial, plans) => this.launching.enqueue(trial, plans),
      pump: () => this.launching.pump(),
      launch: (placement) => this.launching.launch(placement),
      failLaunch: (trialId, error) => this.launching.failLaunch(trialId, error),
      conclude: (active) => this.endings.conclude(active),
      finish: (active, ended, message) => this.endings.finish(active, ended, message),
      prepareTrial: (trial, plans) => this.twoPhase.prepareTrial(trial, plans),
    };
    o.launcher.on('exited', (exit) => {
      const trialId = e.byExecutor.get(exit.name);
      if (trialId === undefined) return;
      o.bus.emit('executor.exited', { ...exit, trialId });
      void e.serial(trialId, () => this.endings.onExit(trialId, exit)).catch((error) => o.log.error({ err: error, executor: exit.name }, 'recording an exit failed'));
    });
    o.launcher.on('started', (started) => {
      const trialId = e.byExecutor.get(started.name);
      if (trialId === undefined) return;
      o.bus.emit('executor.started', { ...started, trialId });
      if (!e.placedByEngine.has(trialId)) return;
      // After the launch's own writes (same chain): it runs now, there; its trial no longer waits.
      const at = Date.now();
      void e
        .serial(trialId, () =>
          e.durable.write(`record the start of ${started.name}`, async () => {
            await o.trials.updateExecutor(started.name, { state: 'Running', node: started.node, gpus: started.gpus, startedAt: at });
            const active = e.active.get(trialId);
            if (!active) return;
            if (e.waiting.delete(trialId)) await o.trials.update(trialId, { message: null }, ['Running']);
            await markExperimentRunning(o.experiments, active.experimentId, at);
          }),
        )
        .catch((error) => o.log.error({ err: error, executor: started.name }, 'recording the start of an executor failed'));
    });
    o.launcher.on('pending', (pending) => {
      o.bus.emit('trial.pending', pending);
      if (!e.placedByEngine.has(pending.trialId)) return;
      // Why a queued gang waits is shown with its trial until it starts.
      e.waiting.add(pending.trialId);
      void e
        .serial(pending.trialId, () => e.durable.write(`record why trial ${pending.trialId} waits`, () => o.trials.update(pending.trialId, { message: `Waiting: ${pending.reason}` }, ['Running'])))
        .catch((error) => o.log.error({ err: error, trialId: pending.trialId }, 'recording why a trial waits failed'));
    });
  }

  /** Queues the first trial of a new experiment. */
  async start(experiment: ExperimentRecord): Promise<void> {
    await this.createTrial(experiment, 1, {}, null, null);
  }

  admission(experimentId: string, spec: NormalizedExperimentSpec): Promise<Admission> {
    return this.twoPhase.admission(experimentId, spec);
  }

  /** Creates a trial with these hyperparameters (and a searcher's budget) and queues it. */
  async createTrial(experiment: ExperimentRecord, number: number, hparams: Record<string, unknown>, requestId: string | null, lengthBudget: number | null): Promise<TrialRecord> {
    const { e } = this;
    const plans = await e.plan(experiment.id, number, experiment.spec);
    const executors = plans.map((p) => ({ name: p.name, role: p.role, replica: p.replica, rank: p.rank }));
    const trial = await e.o.trials.create(experiment.id, number, experiment.spec.priority ?? 0, hparams, executors, requestId, experiment.spec);
    if (lengthBudget !== null) await e.o.trials.update(trial.id, { lengthBudget });
    await this.launching.enqueue({ ...trial, lengthBudget }, plans);
    return trial;
  }

  /** Queues a finished trial again (a promoted ASHA trial); it resumes from its latest checkpoint. */
  async requeue(trialId: number): Promise<void> {
    const { e } = this;
    await e.serial(trialId, async () => {
      const trial = await e.o.trials.get(trialId);
      const experiment = trial && (await e.runOf(trial));
      if (!trial || !experiment || !isTrialFinished(trial.state)) return;
      await e.o.trials.resetExecutors(trial.id);
      if (!(await e.lifecycle.reopen(trial))) return;
      await this.launching.enqueue({ ...trial, state: 'Queued' }, await e.plan(experiment.id, trial.number, experiment.spec));
    });
  }

  prepare(experiment: ExperimentRecord): Promise<void> {
    return this.twoPhase.prepare(experiment);
  }

  startPrepared(experimentId: string): Promise<void> {
    return this.twoPhase.startPrepared(experimentId);
  }

  stopTrial(trialId: number): Promise<void> {
    return this.cancels.stopTrial(trialId);
  }

  cancel(experimentId: string): Promise<void> {
    return this.cancels.cancel(experimentId);
  }

  isCanceling(experimentId: string): boolean {
    return this.cancels.isCanceling(experimentId);
  }

  cancelExecutors(records: ExecutorRecord[]): Promise<{ canceled: string[]; alreadyEnded: string[] }> {
    return this.cancels.cancelExecutors(records);
  }

  recover(): Promise<void> {
    return this.recovery.recover();
  }

  reconcileTrial(trialId: number): Promise<void> {
    return this.recovery.reconcileTrial(trialId);
  }

  settleStalledLaunch(trialId: number): Promise<void> {
    return this.launching.settleStalledLaunch(trialId);
  }

  /**
   * Lets the changes under way finish (a prepare still creating its work dirs, a launch recording its handles),
   * for at most CLOSE_WAIT_MS, then stops retrying writes: the server is closing, and the next start recovers
   * what was left.
   */
  async close(): Promise<void> {
    await this.e.quiesce(CLOSE_WAIT_MS);
    this.e.durable.close();
  }
}
