/**
 * Drives experiments through execution: queue → place → sync code → launch → watch → settle, with cancel,
 * restarts and recovery after a crash. The only place that moves experiment and trial statuses once they
 * leave Accepted. Every change to one trial is serialized, so events that race (an exit during a cancel,
 * two executors failing at once) are applied one at a time.
 */
import type { NormalizedExperimentSpec } from '@periscope/core';
import type { FastifyBaseLogger } from 'fastify';
import type { Transaction } from 'kysely';
import type { Database } from '../db/schema.js';
import type { ExperimentRecord, ExperimentStore } from '../experiments/store.js';
import type { DataLayout } from '../logs/layout.js';
import type { LogTailer } from '../logs/tailer.js';
import { isExecutorEnded, isTrialFinished, type ExecutorRecord, type TrialRecord, type TrialStore } from '../trials/store.js';
import { Durable } from './durable.js';
import { describeExit, leftoversNote, stateOfExit } from './exit-words.js';
import type { ExecutorExit, Launcher } from './launcher.js';
import { launchFailureMessage, launchStep, STALLED_LAUNCH_MESSAGE, whySpawnFailed } from './launch-failure.js';
import { launchSpecs, syncCode, type CodeMaterializer } from './launch-specs.js';
import { placementConflict, planExecutors, type ExecutorPlan } from './plan.js';
import { GangScheduler, NeverFitsError, type Placement } from './scheduler.js';
import { settleExperiment } from './settle.js';

export interface OrchestratorOptions {
  layout: DataLayout;
  launcher: Launcher;
  scheduler: GangScheduler;
  tailer: LogTailer;
  experiments: ExperimentStore;
  trials: TrialStore;
  /** The dockerImage of a stored environment, for PERISCOPE_IMAGE (processes run locally, images are informative). */
  storedImage(name: string): Promise<string | null>;
  code: CodeMaterializer | undefined;
  /** SIGTERM → SIGKILL grace period when stopping executors (default 10 s). */
  graceMs: number;
  /** The URL executors reach the API on (known once the server listens). */
  apiUrl(): string;
  /** A PEM file executors trust the API's certificate with (self-signed HTTPS). */
  apiCaFile?(): string | undefined;
  /** Executors' task-scoped tokens (PERISCOPE_TOKEN); absent, executors get none. */
  taskTokens?: TaskTokens;
  log: FastifyBaseLogger;
}

export interface TaskTokens {
  /** A token acting as `owner` on this trial only. */
  issue(owner: string, trialId: number, experimentId: string): Promise<string>;
  /** The trial has ended: its tokens are dead. */
  revoke(trialId: number): Promise<void>;
}

/** What a create writes with its experiment, then starts once committed (see Orchestrator.admission). */
export interface Admission {
  write(tx: Transaction<Database>): Promise<void>;
  begin(): Promise<void>;
}

/** How a trial ended, told to the search driver; a search experiment's status is the driver's to set. */
export type TrialOutcome = 'Succeeded' | 'Failed' | 'Canceled';
export type TrialFinishedHook = (trial: TrialRecord, outcome: TrialOutcome) => void;

type Mode = 'running' | 'failing' | 'canceling';

/** An executor recorded as started, for the launcher to re-attach to or settle from its exit file. */
type Recoverable = Parameters<Launcher['recover']>[0][number];

interface ActiveTrial {
  trial: TrialRecord;
  experimentId: string;
  executors: Map<string, ExecutorRecord>;
  ended: Set<string>;
  mode: Mode;
  failure: string | null;
  /** Ps replicas we stop once every other executor has succeeded (they never exit by themselves in TF). */
  stoppingPs: Set<string>;
  /** Executors asked to stop on their own: their end is recorded as Canceled and fails nothing. */
  cancelRequested: Set<string>;
}

/** Why a code sync was aborted: the reason given to abort(), in words. */
function abortMessage(signal: AbortSignal): string {
  return typeof signal.reason === 'string' ? signal.reason : 'Canceled by request.';
}

export function isSearch(experiment: ExperimentRecord): boolean {
  return experiment.spec.searcher != null;
}

function activeTrial(trial: TrialRecord, experimentId: string, executors: ExecutorRecord[]): ActiveTrial {
  return {
    trial,
    experimentId,
    executors: new Map(executors.map((e) => [e.name, e])),
    ended: new Set(),
    mode: 'running',
    failure: null,
    stoppingPs: new Set(),
    cancelRequested: new Set(executors.filter((e) => e.cancelRequested).map((e) => e.name)),
  };
}

export class Orchestrator {
  private readonly active = new Map<number, ActiveTrial>();
  private readonly byExecutor = new Map<string, number>();
  private readonly chains = new Map<number, Promise<void>>();
  /** Cancels waiting for a trial to end (more than one may wait: a user's and the reconciler's). */
  private readonly settled = new Map<number, (() => void)[]>();
  private readonly durable: Durable;
  /** Trials whose work dir was synced by prepare() and must not be synced again at launch. */
  private readonly prepared = new Set<number>();
  /**
   * Trials between the start of their code sync and their launch: a cancel aborts the sync at once rather
   * than waiting (on the trial's chain) for a slow clone, and nothing is launched after it.
   */
  private readonly syncing = new Map<number, AbortController>();
  /** Experiments being canceled, with how many cancels of each are under way. */
  private readonly canceling = new Map<string, number>();
  /** Set by the search driver. */
  onTrialFinished: TrialFinishedHook | undefined;

  constructor(private readonly o: OrchestratorOptions) {
    this.durable = new Durable(o.log);
    o.launcher.on('exited', (exit) => {
      const trialId = this.byExecutor.get(exit.name);
      if (trialId !== undefined) {
        void this.serial(trialId, () => this.onExit(trialId, exit)).catch((error) => o.log.error({ err: error, executor: exit.name }, 'recording an exit failed'));
      }
    });
  }

  /** Queues the first trial of a new experiment. */
  async start(experiment: ExperimentRecord): Promise<void> {
    await this.createTrial(experiment, 1, {}, null, null);
  }

  /**
   * A new plain experiment's first trial, planned now (planning reads the store), written by `write` inside the
   * create's transaction, and queued (or prepared, with autoStart false) by `begin` once that has committed.
   */
  async admission(experimentId: string, spec: NormalizedExperimentSpec): Promise<Admission> {
    const plans = await this.plan(experimentId, 1, spec);
    let trial: TrialRecord | undefined;
    return {
      write: async (tx) => {
        trial = await this.o.trials.create(experimentId, 1, spec.priority ?? 0, {}, plans.map((p) => ({ name: p.name, role: p.role, replica: p.replica, rank: p.rank })), null, spec, tx);
      },
      begin: async () => {
        const written = trial!;
        if (spec.autoStart !== false) return this.enqueue(written, plans);
        void this.serial(written.id, () => this.prepareTrial(written, plans)).catch((error) => this.o.log.error({ err: error }, 'prepare failed'));
      },
    };
  }

  /** Creates a trial with these hyperparameters (and a searcher's budget) and queues it. */
  async createTrial(experiment: ExperimentRecord, number: number, hparams: Record<string, unknown>, requestId: string | null, lengthBudget: number | null): Promise<TrialRecord> {
    const plans = await this.plan(experiment.id, number, experiment.spec);
    const trial = await this.o.trials.create(
      experiment.id,
      number,
      experiment.spec.priority ?? 0,
      hparams,
      plans.map((p) => ({ name: p.name, role: p.role, replica: p.replica, rank: p.rank })),
      requestId,
      experiment.spec,
    );
    if (lengthBudget !== null) await this.o.trials.update(trial.id, { lengthBudget });
    await this.enqueue({ ...trial, lengthBudget }, plans);
    return trial;
  }

  /** Queues a finished trial again (a promoted ASHA trial); it resumes from its latest checkpoint. */
  async requeue(trialId: number): Promise<void> {
    await this.serial(trialId, async () => {
      const trial = await this.o.trials.get(trialId);
      const experiment = trial && (await this.runOf(trial));
      if (!trial || !experiment || !isTrialFinished(trial.state)) return;
      await this.o.trials.resetExecutors(trial.id);
      if (!(await this.o.trials.reopen(trial.id))) return;
      await this.enqueue({ ...trial, state: 'Queued' }, await this.plan(experiment.id, trial.number, experiment.spec));
    });
  }

  /** Stops one trial's processes (the searcher decided); it ends Canceled. */
  async stopTrial(trialId: number): Promise<void> {
    this.syncing.get(trialId)?.abort('Stopped by the searcher.');
    const launched = await this.serial(trialId, async () => {
      const active = this.active.get(trialId);
      if (active) {
        active.mode = 'canceling';
        return [...active.executors.keys()].filter((n) => !active.ended.has(n));
      }
      const trial = await this.o.trials.get(trialId);
      if (trial && ['Queued', 'Ready', 'Preparing'].includes(trial.state)) {
        this.o.scheduler.release(trialId);
        if (await this.o.trials.update(trialId, { state: 'Canceled', message: 'Stopped by the searcher.', finishedAt: Date.now() })) {
          this.onTrialFinished?.({ ...trial, state: 'Canceled' }, 'Canceled');
        }
      }
      return [];
    });
    if (launched.length > 0) await this.o.launcher.cancel(launched, this.o.graceMs);
  }

  /**
   * The first phase of the two-phase lifecycle: plan the executors, check the gang can ever fit, sync the
   * code, and leave the trial Ready (nothing runs, nothing is reserved) until start().
   */
  async prepare(experiment: ExperimentRecord): Promise<void> {
    const plans = await this.plan(experiment.id, 1, experiment.spec);
    const trial = await this.o.trials.create(experiment.id, 1, experiment.spec.priority ?? 0, {}, plans.map((p) => ({ name: p.name, role: p.role, replica: p.replica, rank: p.rank })), null, experiment.spec);
    void this.serial(trial.id, () => this.prepareTrial(trial, plans)).catch((error) => this.o.log.error({ err: error }, 'prepare failed'));
  }

  /** Any failure of a prepare (a node that can never fit, code that cannot sync, a store error) ends it Failed. */
  private async prepareTrial(trial: TrialRecord, plans: ExecutorPlan[]): Promise<void> {
    const sync = this.startSync(trial);
    try {
      const experiment = await this.runOf(trial);
      if (!experiment) return;
      await this.o.trials.update(trial.id, { state: 'Preparing' });
      // Submarine shows Preparing as Created, so createdTime is set with it.
      await this.o.experiments.transition(experiment.id, { status: 'Preparing', ...(experiment.createdAt === null && { createdAt: Date.now() }) });
      await this.checkPlacement(plans);
      await syncCode(this.o.layout, this.o.code, experiment, trial, plans, sync.signal);
      if (sync.signal.aborted) throw new Error('canceled');
      this.prepared.add(trial.id);
      await this.o.trials.update(trial.id, { state: 'Ready' });
      await this.o.experiments.transition(experiment.id, { status: 'Ready' });
    } catch (error) {
      this.prepared.delete(trial.id);
      if (sync.signal.aborted) {
        // The cancel that aborted the sync settles the experiment once it has its turn on the chain.
        await this.durable.write('record a canceled prepare', () => this.o.trials.update(trial.id, { state: 'Canceled', message: abortMessage(sync.signal), finishedAt: Date.now() }));
        return;
      }
      const message = error instanceof NeverFitsError ? error.message : `Could not prepare: ${(error as Error).message}`;
      await this.durable.write('record a failed prepare', async () => {
        await this.o.trials.update(trial.id, { state: 'Failed', message, finishedAt: Date.now() });
        await this.o.experiments.transition(trial.experimentId, { status: 'Failed', finishedAt: Date.now(), message });
      });
    } finally {
      this.endSync(trial.id, sync);
    }
  }

  /** Registers a trial's code sync for cancels to abort; one already asked for aborts it before it begins. */
  private startSync(trial: TrialRecord): AbortController {
    const controller = new AbortController();
    this.syncing.set(trial.id, controller);
    if (this.canceling.has(trial.experimentId)) controller.abort('Canceled by request.');
    return controller;
  }

  private endSync(trialId: number, controller: AbortController): void {
    if (this.syncing.get(trialId) === controller) this.syncing.delete(trialId);
  }

  /**
   * The second phase: queue the prepared trial. Idempotent: a retry, or a start while it already runs or has
   * ended, changes nothing. Waits for a prepare still under way.
   */
  async startPrepared(experimentId: string): Promise<void> {
    const trials = await this.o.trials.ofExperiment(experimentId);
    const first = trials[0];
    if (!first) return;
    await this.serial(first.id, async () => {
      const trial = await this.o.trials.get(first.id);
      if (!trial || trial.state !== 'Ready') return;
      const experiment = await this.runOf(trial);
      if (!experiment) return;
      await this.o.trials.update(trial.id, { state: 'Queued' });
      await this.enqueue({ ...trial, state: 'Queued' }, await this.plan(experiment.id, trial.number, experiment.spec));
    });
  }

  /** The experiment as a trial's run sees it: with the spec the trial was created with (a PATCH applies to the next run). */
  private async runOf(trial: TrialRecord): Promise<ExperimentRecord | undefined> {
    const experiment = await this.o.experiments.get(trial.experimentId);
    return experiment && trial.runSpec ? { ...experiment, spec: trial.runSpec } : experiment;
  }

  private async plan(experimentId: string, trialNumber: number, spec: NormalizedExperimentSpec): Promise<ExecutorPlan[]> {
    const stored = spec.environment.name ? await this.o.storedImage(spec.environment.name) : null;
    return planExecutors(experimentId, trialNumber, spec, stored);
  }

  /** Fails at once what could never be placed: more than a node has, or pins and selectors no node matches. */
  private async checkPlacement(plans: ExecutorPlan[]): Promise<void> {
    const conflict = placementConflict(plans, await this.o.launcher.nodes());
    if (conflict) throw new NeverFitsError(conflict);
    this.o.scheduler.checkFits(plans.map((p) => p.resources));
  }

  private async enqueue(trial: TrialRecord, plans: ExecutorPlan[]): Promise<void> {
    try {
      await this.checkPlacement(plans);
      this.o.scheduler.enqueue({ trialId: trial.id, priority: trial.priority, executors: plans.map((p) => p.resources) });
    } catch (error) {
      if (!(error instanceof NeverFitsError)) throw error;
      await this.o.trials.update(trial.id, { state: 'Failed', message: error.message, finishedAt: Date.now() });
      await this.o.experiments.transition(trial.experimentId, { status: 'Failed', finishedAt: Date.now(), message: error.message });
      return;
    }
    this.pump();
  }

  /** Launches whatever the scheduler can place now. */
  private pump(): void {
    for (const placement of this.o.scheduler.schedule()) {
      void this.serial(placement.trialId, () => this.launch(placement).catch((error) => this.failLaunch(placement.trialId, error))).catch((error) => this.o.log.error({ err: error }, 'recording a failed launch failed'));
    }
  }

  private async launch(placement: Placement): Promise<void> {
    const trial = await this.o.trials.get(placement.trialId);
    const experiment = trial && (await this.runOf(trial));
    if (!trial || !experiment || trial.state !== 'Queued') {
      this.o.scheduler.release(placement.trialId);
      return this.pump();
    }
    const { layout } = this.o;
    const now = Date.now();
    await launchStep('record the trial as Preparing', async () => {
      await this.o.trials.update(trial.id, { state: 'Preparing', startedAt: trial.startedAt ?? now });
      // Another trial of the same experiment may already run: the experiment never steps back.
      if (experiment.status !== 'Running') {
        // Submarine shows Preparing as Created, so createdTime is set with it.
        await this.o.experiments.transition(experiment.id, { status: 'Preparing', ...(experiment.createdAt === null && { createdAt: now }) });
      }
    });

    const plans = await this.plan(experiment.id, trial.number, experiment.spec);
    const workDir = layout.workDir(experiment.id, trial.number);
    const executors = await this.o.trials.executors(trial.id);
    const active = activeTrial(trial, experiment.id, executors);
    const sync = this.startSync(trial);
    try {
      // A prepared trial keeps the code it synced; anything else (a first start, a restart) syncs afresh.
      if (!this.prepared.delete(trial.id)) {
        try {
          await syncCode(this.o.layout, this.o.code, experiment, trial, plans, sync.signal);
        } catch (error) {
          if (sync.signal.aborted) return this.finish(active, 'Canceled', abortMessage(sync.signal));
          return this.finish(active, 'Failed', (error as Error).message);
        }
      }
      // Canceled while the code synced, or since (the stores' first terminal state wins): nothing starts.
      const current = await this.o.trials.get(trial.id);
      if (sync.signal.aborted || !current || !['Preparing', 'Queued'].includes(current.state)) return this.finish(active, 'Canceled', abortMessage(sync.signal));
    } finally {
      this.endSync(trial.id, sync);
    }

    const token = await launchStep('issue the task token', async () => this.o.taskTokens?.issue(experiment.owner, trial.id, experiment.id));
    const specs = await launchStep("build the executors' environment", () =>
      launchSpecs({ experiment, trial, plans, gpus: placement.gpus, layout, apiUrl: this.o.apiUrl(), caFile: this.o.apiCaFile?.(), ...(token !== undefined && { token }) }),
    );
    for (const p of plans) this.byExecutor.set(p.name, trial.id);
    this.active.set(trial.id, active);
    // Executors canceled on their own before the launch are not started at all.
    for (const name of active.cancelRequested) {
      active.ended.add(name);
      await this.o.trials.updateExecutor(name, { state: 'Canceled', cause: 'canceled by request before it started', finishedAt: Date.now() });
    }
    const toStart = specs.filter((spec) => !active.cancelRequested.has(spec.name));
    if (toStart.length === 0) return this.finish(active, 'Canceled', 'Every executor was canceled.');
    let attached;
    try {
      attached = await this.o.launcher.submit(toStart);
    } catch (error) {
      return this.finish(active, 'Failed', `Could not start the executors: ${await whySpawnFailed(error, toStart)}`);
    }
    const startedAt = Date.now();
    for (const a of attached) {
      const gpus = placement.gpus[plans.findIndex((p) => p.name === a.name)] ?? [];
      // The processes run: what records them is retried rather than failing them (and a failure here stops them).
      await this.durable.write(`record the start of ${a.name}`, () => this.o.trials.updateExecutor(a.name, { state: 'Running', pid: a.pid, node: placement.node, gpus, startedAt }));
      await this.o.tailer.watch(a.name, layout.executorLogs(experiment.id, a.name));
    }
    await this.durable.write(`record trial ${trial.id} as Running`, async () => {
      await this.o.trials.update(trial.id, { state: 'Running' });
      const current = await this.o.experiments.get(experiment.id);
      if (current && current.status !== 'Running') await this.o.experiments.transition(experiment.id, { status: 'Running', ...(current.runningAt === null && { runningAt: startedAt }) });
    });
  }

  /**
   * A launch that threw (a store write, the task token, the executors' environment, a read): whatever it had
   * started is stopped, and the trial ends Failed (or restarts) with the step and the reason, every write
   * retried. Without this, the trial stayed Preparing and its placement held forever.
   */
  private async failLaunch(trialId: number, error: unknown): Promise<void> {
    const message = launchFailureMessage(error);
    this.o.log.error({ err: error, trialId }, 'launch failed');
    let active = this.active.get(trialId);
    if (active) {
      const left = [...active.executors.keys()].filter((n) => !active!.ended.has(n));
      await this.o.launcher.cancel(left, 0);
      for (const name of left) {
        active.ended.add(name);
        await this.durable.write(`record the end of ${name}`, () => this.o.trials.updateExecutor(name, { state: 'Failed', cause: message, finishedAt: Date.now() }));
      }
    } else {
      for (const [name, id] of this.byExecutor) if (id === trialId) this.byExecutor.delete(name);
      const trial = await this.durable.write(`read trial ${trialId}`, () => this.o.trials.get(trialId));
      if (!trial || isTrialFinished(trial.state)) {
        this.o.scheduler.release(trialId);
        return this.pump();
      }
      active = activeTrial(trial, trial.experimentId, []);
    }
    await this.finish(active, 'Failed', message);
  }

  /**
   * Ends Failed a trial left Preparing with no launch or prepare under way: one whose failure could not be
   * recorded (the server was closing, or the failure path failed too). The reconciler's backstop.
   */
  async settleStalledLaunch(trialId: number): Promise<void> {
    if (this.chains.has(trialId) || this.active.has(trialId)) return;
    await this.serial(trialId, async () => {
      const trial = await this.o.trials.get(trialId);
      if (!trial || trial.state !== 'Preparing' || this.active.has(trialId)) return;
      this.o.log.warn({ experimentId: trial.experimentId, trial: trial.number }, 'a trial was left Preparing with no launch under way; failing it');
      await this.finish(activeTrial(trial, trial.experimentId, []), 'Failed', STALLED_LAUNCH_MESSAGE);
    });
  }

  private async onExit(trialId: number, exit: ExecutorExit): Promise<void> {
    const active = this.active.get(trialId);
    if (!active || active.ended.has(exit.name)) return;
    const stoppedPs = active.stoppingPs.has(exit.name);
    const requested = active.cancelRequested.has(exit.name);
    const state = stoppedPs ? 'Succeeded' : requested ? 'Canceled' : stateOfExit(exit);
    const cause = stoppedPs ? null : requested ? 'canceled by request' : exit.cause === 'exited' ? (leftoversNote(exit)?.slice(2) ?? null) : describeExit(exit.name, exit);
    const finishedAt = Date.now();
    await this.durable.write(`record the end of ${exit.name}`, () => this.o.trials.updateExecutor(exit.name, { state, exitCode: exit.exitCode, signal: exit.signal, cause, finishedAt }));
    active.ended.add(exit.name);
    await this.o.tailer.finish(exit.name);
    if (state !== 'Succeeded' && !requested) this.noteFailure(active, describeExit(exit.name, exit));
    await this.conclude(active);
  }

  /** An executor failed: the trial fails, and the rest of its executors are stopped. */
  private noteFailure(active: ActiveTrial, failure: string): void {
    if (active.mode !== 'running') return;
    active.mode = 'failing';
    active.failure = failure;
    void this.stopRemaining(active);
  }

  /** Finishes the trial once every executor has ended; stops TensorFlow's parameter servers when only they remain. */
  private async conclude(active: ActiveTrial): Promise<void> {
    const remaining = [...active.executors.keys()].filter((n) => !active.ended.has(n));
    if (remaining.length === 0) {
      if (active.mode === 'canceling') return this.finish(active, 'Canceled', 'Canceled by request.');
      if (active.mode === 'failing') return this.finish(active, 'Failed', `Failed: ${active.failure}.`);
      if (active.cancelRequested.size === active.executors.size) return this.finish(active, 'Canceled', 'Every executor was canceled.');
      return this.finish(active, 'Succeeded', active.cancelRequested.size > 0 ? `Canceled on request: ${[...active.cancelRequested].join(', ')}.` : null);
    }
    // TensorFlow parameter servers never exit by themselves: when all else has succeeded, stop them.
    if (active.mode === 'running' && remaining.every((n) => active.executors.get(n)!.role === 'Ps') && !remaining.every((n) => active.stoppingPs.has(n))) {
      for (const n of remaining) active.stoppingPs.add(n);
      void this.o.launcher.cancel(remaining, this.o.graceMs);
    }
  }

  private async stopRemaining(active: ActiveTrial): Promise<void> {
    const remaining = [...active.executors.keys()].filter((n) => !active.ended.has(n));
    await this.o.launcher.cancel(remaining, this.o.graceMs);
  }

  /**
   * Records a trial's end (retried until stored), or queues a failed one again while it has restarts left. A
   * cancel asked for wins over how the processes ended: an answered cancel ends Canceled.
   */
  private async finish(active: ActiveTrial, ended: 'Succeeded' | 'Failed' | 'Canceled', endMessage: string | null): Promise<void> {
    const { trial } = active;
    this.active.delete(trial.id);
    for (const name of active.executors.keys()) this.byExecutor.delete(name);
    this.o.scheduler.release(trial.id);
    const experiment = await this.durable.write('read an experiment', () => this.runOf(trial));
    const canceled = experiment?.cancelRequestedAt != null && ended !== 'Canceled';
    const outcome = canceled ? 'Canceled' : ended;
    const message = canceled ? 'Canceled by request.' : endMessage;
    const maxRestarts = experiment?.spec.maxRestarts ?? 0;
    if (outcome === 'Failed' && experiment && trial.restarts < maxRestarts) {
      this.o.log.info({ experimentId: experiment.id, trial: trial.number, restarts: trial.restarts + 1 }, 'restarting failed trial');
      const restarts = trial.restarts + 1;
      await this.durable.write('queue a failed trial again', async () => {
        await this.o.trials.resetExecutors(trial.id);
        await this.o.trials.update(trial.id, { state: 'Queued', restarts, message });
      });
      const plans = await this.durable.write('plan a restart', () => this.plan(experiment.id, trial.number, experiment.spec));
      await this.enqueue({ ...trial, state: 'Queued', restarts }, plans);
    } else {
      const finishedAt = Date.now();
      const won = await this.durable.write(`record the end of trial ${trial.id}`, async () => {
        const first = await this.o.trials.update(trial.id, { state: outcome, message, finishedAt });
        await this.o.taskTokens?.revoke(trial.id);
        // A search experiment ends when its searcher says so, not with one of its trials.
        if (experiment && !isSearch(experiment)) await settleExperiment(this.o.experiments, this.o.trials, experiment.id);
        return first;
      });
      if (won) this.onTrialFinished?.({ ...trial, state: outcome, message, finishedAt }, outcome);
    }
    for (const resolve of this.settled.get(trial.id) ?? []) resolve();
    this.settled.delete(trial.id);
    this.pump();
  }

  /**
   * Stops every unfinished trial of an experiment and resolves when all its processes are gone and its status
   * is Canceled. Queued trials simply leave the queue. The intent is stored first: a server that dies before
   * the processes are gone still ends the experiment Canceled (recovery and the reconciler finish the cancel).
   */
  async cancel(experimentId: string): Promise<void> {
    await this.o.experiments.requestCancel(experimentId);
    this.canceling.set(experimentId, (this.canceling.get(experimentId) ?? 0) + 1);
    try {
      await this.cancelTrials(experimentId);
    } finally {
      const left = this.canceling.get(experimentId)! - 1;
      if (left === 0) this.canceling.delete(experimentId);
      else this.canceling.set(experimentId, left);
    }
  }

  /** True while a cancel of the whole experiment is under way (the search driver creates nothing then). */
  isCanceling(experimentId: string): boolean {
    return this.canceling.has(experimentId);
  }

  private async cancelTrials(experimentId: string): Promise<void> {
    const trials = (await this.o.trials.ofExperiment(experimentId)).filter((t) => ['Queued', 'Preparing', 'Ready', 'Running'].includes(t.state));
    await Promise.all(
      trials.map(async (t) => {
        // First, so a slow clone is killed now instead of being waited for on the trial's chain.
        this.syncing.get(t.id)?.abort('Canceled by request.');
        const done = new Promise<void>((resolve) => this.settled.set(t.id, [...(this.settled.get(t.id) ?? []), resolve]));
        const launched = await this.serial(t.id, async () => {
          const active = this.active.get(t.id);
          if (!active) {
            this.o.scheduler.release(t.id);
            this.settled.delete(t.id);
            await this.o.trials.update(t.id, { state: 'Canceled', message: 'Canceled by request.', finishedAt: Date.now() });
            return false;
          }
          active.mode = 'canceling';
          return true;
        });
        if (!launched) return;
        const active = this.active.get(t.id);
        if (active) await this.o.launcher.cancel([...active.executors.keys()].filter((n) => !active.ended.has(n)), this.o.graceMs);
        await done;
      }),
    );
    const experiment = await this.o.experiments.get(experimentId);
    // A plain experiment ends as its trial did (it may have ended on its own first); a search is stopped.
    if (experiment && isSearch(experiment)) await this.o.experiments.transition(experimentId, { status: 'Canceled', finishedAt: Date.now(), message: 'Canceled by request.' });
    else await settleExperiment(this.o.experiments, this.o.trials, experimentId);
    this.pump();
  }

  /**
   * Stops some executors and lets the rest of their trials run on (netunicorn's cancel of executors). An
   * executor that has already ended is reported as such, not as an error. Resolves when those stopped are gone.
   */
  async cancelExecutors(records: ExecutorRecord[]): Promise<{ canceled: string[]; alreadyEnded: string[] }> {
    const canceled: string[] = [];
    const alreadyEnded: string[] = [];
    const byTrial = new Map<number, ExecutorRecord[]>();
    for (const r of records) byTrial.set(r.trialId, [...(byTrial.get(r.trialId) ?? []), r]);
    await Promise.all(
      [...byTrial].map(async ([trialId, executors]) => {
        const toStop = await this.serial(trialId, async () => {
          const stop: string[] = [];
          for (const e of executors) {
            const current = await this.o.trials.executor(e.name);
            const active = this.active.get(trialId);
            if (!current || isExecutorEnded(current.state) || active?.ended.has(e.name)) {
              alreadyEnded.push(e.name);
              continue;
            }
            canceled.push(e.name);
            await this.o.trials.updateExecutor(e.name, { cancelRequested: true });
            if (active) {
              active.cancelRequested.add(e.name);
              stop.push(e.name);
            }
          }
          return stop;
        });
        if (toStop.length > 0) await this.o.launcher.cancel(toStop, this.o.graceMs);
        await this.serial(trialId, async () => {}); // their exits are recorded before answering
      }),
    );
    return { canceled: canceled.sort(), alreadyEnded: alreadyEnded.sort() };
  }

  /**
   * After a restart: re-attach to executors that survived, settle those that ended while the server was down
   * (from their exit files) and trials whose executors had all ended, put queued or half-prepared trials back
   * in the queue, and carry on with cancels that were asked for (what had not started never starts).
   */
  async recover(): Promise<void> {
    // Accepted but never given a trial: written by a server older than the one-transaction create.
    for (const experiment of (await this.o.experiments.list({ statuses: ['Accepted'] })).items) {
      // A search's first trials are the search driver's to create (it recovers after this); a canceled one is the reconciler's.
      if (isSearch(experiment) || experiment.cancelRequestedAt !== null || (await this.o.trials.ofExperiment(experiment.id)).length > 0) continue;
      if (experiment.spec.autoStart === false) await this.prepare(experiment);
      else await this.start(experiment);
    }
    const toRecover: Recoverable[] = [];
    for (const trial of await this.o.trials.unfinished()) {
      const experiment = await this.runOf(trial);
      if (!experiment || experiment.status === 'Deleted') continue;
      const executors = await this.o.trials.executors(trial.id);
      const plans = await this.plan(experiment.id, trial.number, experiment.spec);
      if (trial.state === 'Running') {
        toRecover.push(...(await this.attach(trial, experiment, executors, plans)));
      } else if (trial.state === 'Preparing' && trial.startedAt === null && experiment.cancelRequestedAt === null) {
        // Caught in the middle of a prepare (nothing was started): prepare again.
        void this.serial(trial.id, () => this.prepareTrial(trial, plans));
      } else {
        // Queued, or caught half-way through preparing: anything it had started is stopped, then it queues again.
        if (trial.state === 'Preparing') {
          await this.o.launcher.recover(executors.map((e) => ({ name: e.name, pid: e.pid, logDir: this.o.layout.executorLogs(experiment.id, e.name) })));
          await this.o.launcher.cancel(executors.map((e) => e.name), 0);
        }
        await this.o.trials.resetExecutors(trial.id);
        if (experiment.cancelRequestedAt !== null) {
          await this.o.trials.update(trial.id, { state: 'Canceled', message: 'Canceled by request.', finishedAt: Date.now() });
          continue;
        }
        await this.o.trials.update(trial.id, { state: 'Queued' });
        await this.enqueue({ ...trial, state: 'Queued' }, plans);
      }
    }
    await this.o.launcher.recover(toRecover);
    for (const active of [...this.active.values()]) {
      // A failure recorded before the crash still stops the rest of its trial, and so does a cancel.
      if (active.mode !== 'running') void this.stopRemaining(active);
      // Every executor had ended (the server died before the trial was recorded): settle it now.
      void this.reconcileTrial(active.trial.id);
    }
  }

  /**
   * Settles a trial recorded Running whose executors have all ended (the reconciler, recovery). One that no
   * one watches (its end was never recorded) is re-attached: the launcher reports those whose process is gone
   * from their exit files, and watches the rest.
   */
  async reconcileTrial(trialId: number): Promise<void> {
    await this.serial(trialId, async () => {
      const trial = await this.o.trials.get(trialId);
      if (!trial || trial.state !== 'Running') return;
      const executors = await this.o.trials.executors(trialId);
      const active = this.active.get(trialId);
      if (!active) {
        const experiment = await this.runOf(trial);
        if (!experiment || experiment.status === 'Deleted') return;
        this.o.log.warn({ experimentId: experiment.id, trial: trial.number }, 'a running trial was not watched; re-attaching');
        await this.o.launcher.recover(await this.attach(trial, experiment, executors, await this.plan(experiment.id, trial.number, experiment.spec)));
        const attached = this.active.get(trialId)!;
        if (attached.mode !== 'running') void this.stopRemaining(attached);
        return this.conclude(attached);
      }
      const wasRunning = active.mode === 'running';
      for (const e of executors) if (isExecutorEnded(e.state) && !active.ended.has(e.name)) this.noteEnded(active, e);
      if (wasRunning && active.mode !== 'running') void this.stopRemaining(active);
      await this.conclude(active);
    });
  }

  /** Tracks a trial recorded Running; answers its executors that may still run, for the launcher to re-attach. */
  private async attach(trial: TrialRecord, experiment: ExperimentRecord, executors: ExecutorRecord[], plans: ExecutorPlan[]): Promise<Recoverable[]> {
    const active = activeTrial(trial, experiment.id, executors);
    if (experiment.cancelRequestedAt !== null) active.mode = 'canceling';
    this.active.set(trial.id, active);
    this.o.scheduler.release(trial.id);
    this.o.scheduler.adopt({ trialId: trial.id, priority: trial.priority, executors: plans.map((p) => p.resources) }, executors.map((e) => e.gpus));
    const toRecover: Recoverable[] = [];
    for (const e of executors) {
      this.byExecutor.set(e.name, trial.id);
      const logDir = this.o.layout.executorLogs(experiment.id, e.name);
      if (isExecutorEnded(e.state)) {
        this.noteEnded(active, e);
      } else {
        await this.o.tailer.watch(e.name, logDir);
        toRecover.push({ name: e.name, pid: e.pid, logDir });
      }
    }
    return toRecover;
  }

  /** An end found in the store rather than reported by the launcher. */
  private noteEnded(active: ActiveTrial, e: ExecutorRecord): void {
    active.ended.add(e.name);
    if (e.state !== 'Succeeded' && !active.cancelRequested.has(e.name) && active.mode === 'running') {
      active.mode = 'failing';
      active.failure = e.cause ?? `${e.name} exited with code ${e.exitCode}`;
    }
  }

  /** Stops retrying writes (the server is closing; the next start recovers what was left). */
  close(): void {
    this.durable.close();
  }

  private serial<T>(trialId: number, work: () => Promise<T>): Promise<T> {
    const previous = this.chains.get(trialId) ?? Promise.resolve();
    const next = previous.then(work, work);
    const tail = next.then(
      () => undefined,
      () => undefined,
    );
    this.chains.set(trialId, tail);
    void tail.then(() => {
      if (this.chains.get(trialId) === tail) this.chains.delete(trialId);
    });
    return next;
  }
}
