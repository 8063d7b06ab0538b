/**
 * The two-phase lifecycle (netunicorn's prepare → start, and Submarine's autoStart false): prepare plans the
 * executors, checks the gang can ever fit and syncs the code, leaving the trial Ready with nothing running and
 * nothing reserved; start queues it, idempotently under retries.
 */
import type { NormalizedExperimentSpec } from '@periscope/core';
import type { Transaction } from 'kysely';
import type { Database } from '../db/schema.js';
import type { ExperimentRecord } from '../experiments/store.js';
import type { TrialRecord } from '../trials/store.js';
import { abortMessage, type Engine } from './engine.js';
import { makeTrialDirs, removeExperimentDirs, syncCode } from './launch-specs.js';
import type { ExecutorPlan } from './plan.js';
import { NeverFitsError } from './scheduler.js';

/** What a create writes with its experiment, then starts once committed (see TwoPhase.admission). */
export interface Admission {
  /** The status the experiment is stored with: Ready when it was prepared before the create's transaction. */
  status: 'Accepted' | 'Ready';
  write(tx: Transaction<Database>): Promise<void>;
  begin(): Promise<void>;
  /** The create failed (nothing was stored): removes what was made for it before. */
  abandon(): Promise<void>;
}

export class TwoPhase {
  constructor(
    private readonly e: Engine,
    private readonly checkPlacement: (plans: ExecutorPlan[]) => Promise<void>,
  ) {}

  /**
   * A new plain experiment's first trial, planned now (planning reads the store), written by `write` inside the
   * create's transaction, and queued (or prepared, with autoStart false) by `begin` once that has committed.
   */
  async admission(experimentId: string, spec: NormalizedExperimentSpec): Promise<Admission> {
    const { e } = this;
    const plans = await e.plan(experimentId, 1, spec);
    const prepared = spec.autoStart === false && (await this.prepareAhead(experimentId, spec, plans));
    let trial: TrialRecord | undefined;
    return {
      status: prepared ? 'Ready' : 'Accepted',
      write: async (tx) => {
        trial = await e.o.trials.create(experimentId, 1, spec.priority ?? 0, {}, plans.map((p) => ({ name: p.name, role: p.role, replica: p.replica, rank: p.rank })), null, spec, tx, prepared ? 'Ready' : 'Queued');
      },
      begin: async () => {
        const written = trial!;
        if (spec.autoStart !== false) return e.steps.enqueue(written, plans);
        if (prepared) {
          e.prepared.add(written.id);
          return;
        }
        void e.serial(written.id, () => this.prepareTrial(written, plans)).catch((error) => e.o.log.error({ err: error }, 'prepare failed'));
      },
      abandon: async () => {
        if (prepared) await removeExperimentDirs(e.o.layout, experimentId);
      },
    };
  }

  /**
   * The whole first phase, before the experiment is stored, when it is quick: no code to sync, only the gang's
   * fit to check and two empty dirs to make. The create then stores it Ready in its one transaction, instead
   * of four more writes and their reads after it (parked creates went at twice the rate: bench/README.md).
   * Anything that does not go through leaves it to prepareTrial, which records why it failed.
   */
  private async prepareAhead(experimentId: string, spec: NormalizedExperimentSpec, plans: ExecutorPlan[]): Promise<boolean> {
    if (spec.code) return false;
    try {
      await this.checkPlacement(plans);
      await makeTrialDirs(this.e.o.layout, experimentId, 1);
      return true;
    } catch {
      return false;
    }
  }

  /** The first phase for an experiment without a trial yet (one left Accepted by an older server). */
  async prepare(experiment: ExperimentRecord): Promise<void> {
    const { e } = this;
    const plans = await e.plan(experiment.id, 1, experiment.spec);
    const trial = await e.o.trials.create(experiment.id, 1, experiment.spec.priority ?? 0, {}, plans.map((p) => ({ name: p.name, role: p.role, replica: p.replica, rank: p.rank })), null, experiment.spec);
    void e.serial(trial.id, () => this.prepareTrial(trial, plans)).catch((error) => e.o.log.error({ err: error }, 'prepare failed'));
  }

  /** Any failure of a prepare (a node that can never fit, code that cannot sync, a store error) ends it Failed. */
  async prepareTrial(trial: TrialRecord, plans: ExecutorPlan[]): Promise<void> {
    const { e } = this;
    const { o } = e;
    const sync = e.startSync(trial);
    let current = trial;
    try {
      const experiment = await e.runOf(trial);
      if (!experiment) return;
      await e.lifecycle.move(trial, 'Preparing');
      current = { ...trial, state: 'Preparing' };
      // Submarine shows Preparing as Created, so createdTime is set with it.
      await o.experiments.transition(experiment.id, { status: 'Preparing', ...(experiment.createdAt === null && { createdAt: Date.now() }) });
      await this.checkPlacement(plans);
      await syncCode(o.layout, o.code, experiment, trial, plans, sync.signal);
      if (sync.signal.aborted) throw new Error('canceled');
      e.prepared.add(trial.id);
      await e.lifecycle.move(current, 'Ready');
      await o.experiments.transition(experiment.id, { status: 'Ready' });
    } catch (error) {
      e.prepared.delete(trial.id);
      if (sync.signal.aborted) {
        // The cancel that aborted the sync settles the experiment once it has its turn on the chain.
        await e.durable.write('record a canceled prepare', () => e.lifecycle.move(current, 'Canceled', { message: abortMessage(sync.signal), finishedAt: Date.now() }));
        return;
      }
      const message = error instanceof NeverFitsError ? error.message : `Could not prepare: ${(error as Error).message}`;
      await e.durable.write('record a failed prepare', async () => {
        await e.lifecycle.move(current, 'Failed', { message, finishedAt: Date.now() });
        await o.experiments.transition(trial.experimentId, { status: 'Failed', finishedAt: Date.now(), message });
      });
    } finally {
      e.endSync(trial.id, sync);
    }
  }

  /**
   * The second phase: queue the prepared trial. Idempotent: a retry, or a start while it already runs or has
   * ended, changes nothing. Waits for a prepare still under way.
   */
  async startPrepared(experimentId: string): Promise<void> {
    const { e } = this;
    const trials = await e.o.trials.ofExperiment(experimentId);
    const first = trials[0];
    if (!first) return;
    await e.serial(first.id, async () => {
      const trial = await e.o.trials.get(first.id);
      if (!trial || trial.state !== 'Ready') return;
      const experiment = await e.runOf(trial);
      if (!experiment) return;
      await e.lifecycle.move(trial, 'Queued');
      await e.steps.enqueue({ ...trial, state: 'Queued' }, await e.plan(experiment.id, trial.number, experiment.spec));
    });
  }
}
