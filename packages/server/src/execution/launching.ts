/**
 * Queue, placement and launch: a trial waits in the scheduler until its whole gang fits, then its code is
 * synced, its task token issued, its executors' environment built from where they landed, and the gang
 * submitted to the launcher. A launch that fails at any step ends the trial Failed with the step and the reason.
 */
import type { NormalizedExperimentSpec } from '@periscope/core';
import type { ExperimentStore } from '../experiments/store.js';
import { isTrialFinished, type TrialRecord } from '../trials/store.js';
import { abortMessage, activeTrial, type ActiveTrial, type Engine } from './engine.js';
import { launchFailureMessage, launchStep, STALLED_LAUNCH_MESSAGE, whySpawnFailed } from './launch-failure.js';
import { launchSpecs, syncCode } from './launch-specs.js';
import type { ExecutorHandle, GangSpec } from './launcher.js';
import { placementConflict, type ExecutorPlan } from './plan.js';
import { NeverFitsError, type Placement } from './scheduler.js';

export class Launching {
  /** The last pending reason told for each queued trial. */
  private readonly pending = new Map<number, string>();

  constructor(private readonly e: Engine) {}

  /** Fails at once what could never be placed: more than a node has, or pins and selectors no node matches. */
  async checkPlacement(plans: ExecutorPlan[]): Promise<void> {
    let nodes;
    try {
      nodes = await this.e.o.launcher.nodes();
    } catch (error) {
      // A cluster controller that does not answer now: the submit itself fails later, naming what it said.
      this.e.o.log.warn({ err: error }, 'the launcher could not list its nodes; placement is checked at submit');
      return;
    }
    const conflict = placementConflict(plans, nodes);
    if (conflict) throw new NeverFitsError(conflict);
    this.e.o.launcher.placer.checkFits(plans.map((p) => p.resources));
  }

  async enqueue(trial: TrialRecord, plans: ExecutorPlan[]): Promise<void> {
    const { o } = this.e;
    try {
      await this.checkPlacement(plans);
      o.launcher.placer.enqueue({ trialId: trial.id, priority: trial.priority, executors: plans.map((p) => p.resources) });
    } catch (error) {
      if (!(error instanceof NeverFitsError)) throw error;
      await this.e.lifecycle.move(trial, 'Failed', { message: error.message, finishedAt: Date.now() });
      await o.experiments.transition(trial.experimentId, { status: 'Failed', finishedAt: Date.now(), message: error.message });
      return;
    }
    this.pump();
  }

  pump(): void {
    for (const placement of this.e.o.launcher.placer.schedule()) {
      this.pending.delete(placement.trialId);
      void this.e
        .serial(placement.trialId, () => this.launch(placement).catch((error) => this.failLaunch(placement.trialId, error)))
        .catch((error) => this.e.o.log.error({ err: error }, 'recording a failed launch failed'));
    }
    this.tellPending();
  }

  /**
   * Publishes why each queued trial waits, when that changed since it was last told. It walks the whole
   * queue on every pump, so it is skipped while nobody listens.
   */
  private tellPending(): void {
    if (!this.e.o.bus.heard('trial.pending')) {
      this.pending.clear();
      return;
    }
    const reasons = this.e.o.launcher.placer.pendingReasons();
    const queued = new Set(reasons.map((r) => r.trialId));
    for (const id of this.pending.keys()) if (!queued.has(id)) this.pending.delete(id);
    for (const { trialId, reason } of reasons) {
      if (this.pending.get(trialId) === reason) continue;
      this.pending.set(trialId, reason);
      this.e.o.bus.emit('trial.pending', { trialId, reason });
    }
  }

  async launch(placement: Placement): Promise<void> {
    const { e } = this;
    const { o } = e;
    const trial = await o.trials.get(placement.trialId);
    const experiment = trial && (await e.runOf(trial));
    if (!trial || !experiment || trial.state !== 'Queued') {
      o.launcher.placer.release(placement.trialId);
      return this.pump();
    }
    const { layout } = o;
    const now = Date.now();
    await launchStep('record the trial as Preparing', async () => {
      await e.lifecycle.move(trial, 'Preparing', { startedAt: trial.startedAt ?? now });
      // Another trial of the same experiment may already run: the experiment never steps back.
      if (experiment.status !== 'Running') {
        // Submarine shows Preparing as Created, so createdTime is set with it.
        await o.experiments.transition(experiment.id, { status: 'Preparing', ...(experiment.createdAt === null && { createdAt: now }) });
      }
    });

    const plans = await e.plan(experiment.id, trial.number, experiment.spec);
    const executors = await o.trials.executors(trial.id);
    const active = activeTrial({ ...trial, state: 'Preparing' }, experiment.id, executors);
    const sync = e.startSync(trial);
    try {
      // A prepared trial keeps the code it synced; anything else (a first start, a restart) syncs afresh.
      if (!e.prepared.delete(trial.id)) {
        try {
          await syncCode(layout, o.code, experiment, trial, plans, sync.signal);
        } catch (error) {
          if (sync.signal.aborted) return e.steps.finish(active, 'Canceled', abortMessage(sync.signal));
          return e.steps.finish(active, 'Failed', (error as Error).message);
        }
      }
      // Canceled while the code synced, or since (the stores' first terminal state wins): nothing starts.
      const current = await o.trials.get(trial.id);
      if (sync.signal.aborted || !current || !['Preparing', 'Queued'].includes(current.state)) return e.steps.finish(active, 'Canceled', abortMessage(sync.signal));
    } finally {
      e.endSync(trial.id, sync);
    }

    const token = await launchStep('issue the task token', async () => o.taskTokens?.issue(experiment.owner, trial.id, experiment.id));
    const specs = await launchStep("build the executors' environment", () =>
      launchSpecs({ experiment, trial, plans, node: placement.node, host: placement.host, gpus: placement.gpus, layout, apiUrl: o.apiUrl(), caFile: o.apiCaFile?.(), ...(token !== undefined && { token }) }),
    );
    for (const p of plans) e.byExecutor.set(p.name, trial.id);
    if (placement.host === null) e.placedByEngine.add(trial.id);
    e.active.set(trial.id, active);
    // Executors canceled on their own before the launch are not started at all.
    for (const name of active.cancelRequested) {
      active.ended.add(name);
      await o.trials.updateExecutor(name, { state: 'Canceled', cause: 'canceled by request before it started', fault: 'cancel', finishedAt: Date.now() });
    }
    const toStart = specs.filter((spec) => !active.cancelRequested.has(spec.name));
    if (toStart.length === 0) return e.steps.finish(active, 'Canceled', 'Every executor was canceled.');
    // An engine that places executors itself has only queued them: they are Pending until it says they started
    // (Orchestrator, on `started`), and the experiment is Running from then on.
    const queued = placement.host === null;
    // Written before the launcher lets the gang run (GangSpec.recorded), so a restart knows every executor that
    // may run; retried rather than failing them (and a failure here stops them).
    const record = async (handles: ExecutorHandle[]): Promise<void> => {
      const startedAt = Date.now();
      for (const h of handles) {
        const gpus = placement.gpus[plans.findIndex((p) => p.name === h.name)] ?? [];
        await e.durable.write(`record the start of ${h.name}`, () =>
          o.trials.updateExecutor(h.name, queued ? { state: 'Pending', pid: h.pid, handle: h.handle } : { state: 'Running', pid: h.pid, handle: h.handle, node: placement.node, gpus, startedAt }),
        );
        await o.tailer.watch(h.name, layout.executorLogs(experiment.id, h.name));
      }
      await e.durable.write(`record trial ${trial.id} as Running`, async () => {
        await e.lifecycle.move(active.trial, 'Running');
        if (queued) return;
        await markExperimentRunning(o.experiments, experiment.id, startedAt);
      });
    };
    let recorded = false;
    let recordFailure: { error: unknown } | undefined;
    let handles: ExecutorHandle[];
    try {
      handles = await o.launcher.submit({
        trialId: trial.id,
        experimentId: experiment.id,
        executors: toStart,
        ...gangOptions(experiment.spec),
        ...(queued && { distributed: { framework: experiment.spec.meta.framework } }),
        recorded: (answered) => {
          recorded = true;
          return record(answered).catch((error: unknown) => {
            recordFailure = { error };
            throw error;
          });
        },
      });
    } catch (error) {
      // A record that failed goes where a failed launch step goes (failLaunch); the launcher stopped the gang.
      if (recordFailure) throw recordFailure.error;
      return e.steps.finish(active, 'Failed', `Could not start the executors: ${await whySpawnFailed(error, toStart)}`);
    }
    if (!recorded) await record(handles);
    active.trial = { ...active.trial, state: 'Running' };
  }

  /**
   * A launch that threw (a store write, the task token, the executors' environment, a read): whatever it had
   * started is stopped, and the trial ends Failed (or restarts) with the step and the reason, every write
   * retried. Without this, the trial stayed Preparing and its placement held forever.
   */
  async failLaunch(trialId: number, error: unknown): Promise<void> {
    const { e } = this;
    const { o } = e;
    const message = launchFailureMessage(error);
    o.log.error({ err: error, trialId }, 'launch failed');
    let active: ActiveTrial | undefined = e.active.get(trialId);
    if (active) {
      const left = e.remaining(active);
      await o.launcher.cancel(left, 0);
      for (const name of left) {
        active.ended.add(name);
        await e.durable.write(`record the end of ${name}`, () => o.trials.updateExecutor(name, { state: 'Failed', cause: message, fault: 'platform', finishedAt: Date.now() }));
      }
    } else {
      for (const [name, id] of e.byExecutor) if (id === trialId) e.byExecutor.delete(name);
      const trial = await e.durable.write(`read trial ${trialId}`, () => o.trials.get(trialId));
      if (!trial || isTrialFinished(trial.state)) {
        o.launcher.placer.release(trialId);
        return this.pump();
      }
      active = activeTrial(trial, trial.experimentId, []);
    }
    await e.steps.finish(active, 'Failed', message);
  }

  /**
   * Ends Failed a trial left Preparing with no launch or prepare under way: one whose failure could not be
   * recorded (the server was closing, or the failure path failed too). The reconciler's backstop.
   */
  async settleStalledLaunch(trialId: number): Promise<void> {
    const { e } = this;
    if (e.busy(trialId) || e.active.has(trialId)) return;
    await e.serial(trialId, async () => {
      const trial = await e.o.trials.get(trialId);
      if (!trial || trial.state !== 'Preparing' || e.active.has(trialId)) return;
      e.o.log.warn({ experimentId: trial.experimentId, trial: trial.number }, 'a trial was left Preparing with no launch under way; failing it');
      await e.steps.finish(activeTrial(trial, trial.experimentId, []), 'Failed', STALLED_LAUNCH_MESSAGE);
    });
  }
}

/** What a gang asks of its engine beyond its executors: a time limit, the experiment's Slurm settings. */
function gangOptions(spec: NormalizedExperimentSpec): Pick<GangSpec, 'timeLimitS' | 'engine'> {
  return { ...(spec.timeLimit !== undefined && { timeLimitS: spec.timeLimit }), ...(spec.slurm && { engine: spec.slurm }) };
}

/** The experiment is Running once one of its executors runs (another trial's may have made it so already). */
export async function markExperimentRunning(experiments: ExperimentStore, id: string, at: number): Promise<void> {
  const current = await experiments.get(id);
  if (current && current.status !== 'Running') await experiments.transition(id, { status: 'Running', ...(current.runningAt === null && { runningAt: at }) });
}
