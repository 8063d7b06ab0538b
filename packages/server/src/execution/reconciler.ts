/**
 * The backstop that makes every experiment reach a terminal state: at startup (after the orchestrator has
 * recovered) and then periodically, it settles what events alone left unsettled — a trial recorded Running
 * whose executors have all ended, a trial left Preparing by a launch that failed without saying so, a plain
 * experiment whose trials have all ended, a cancel that was asked for but not carried out, a delete cut short.
 * Each check is idempotent and reads the store afresh, so a check that fails (the database is away) is simply
 * made again on the next pass.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isExperimentId } from '@periscope/core';
import type { FastifyBaseLogger } from 'fastify';
import type { ExperimentStore } from '../experiments/store.js';
import type { DataLayout } from '../logs/layout.js';
import { FINISHED_TRIAL_STATES, type TrialStore } from '../trials/store.js';
import type { Orchestrator } from './orchestrator.js';
import { settleExperiment } from './settle.js';

export interface ReconcilerOptions {
  orchestrator: Orchestrator;
  experiments: ExperimentStore;
  trials: TrialStore;
  layout: DataLayout;
  /** Time between two passes, in ms (default 5 s): how long an unsettled state can last at most, give or take a pass. */
  intervalMs?: number;
  log: FastifyBaseLogger;
}

/** Ids per query when checking which directories still have an experiment (well under both databases' parameter limits). */
const ID_CHUNK = 500;

export class Reconciler {
  private timer: NodeJS.Timeout | undefined;
  private passing: Promise<void> | undefined;
  /** Cancels this reconciler started and that are still under way (each waits for processes to stop). */
  private readonly canceling = new Set<string>();

  constructor(private readonly o: ReconcilerOptions) {}

  /** At startup: purge what deletes left behind, then settle everything that can be. */
  async recover(): Promise<void> {
    await this.purgeOrphans();
    await this.pass();
  }

  /** Starts the periodic passes; a pass never overlaps the previous one. */
  start(): void {
    this.timer ??= setInterval(() => {
      this.passing ??= this.pass()
        .catch((error) => this.o.log.warn({ err: error }, 'reconciling failed; trying again on the next pass'))
        .finally(() => (this.passing = undefined));
    }, this.o.intervalMs ?? 5_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One pass over everything that may be unsettled. */
  async pass(): Promise<void> {
    const { orchestrator, experiments, trials } = this.o;
    for (const trial of await trials.unfinished()) {
      if (trial.state === 'Running') await orchestrator.reconcileTrial(trial.id);
      // A launch that ended without recording its failure (the orchestrator knows which trials it is launching).
      else if (trial.state === 'Preparing') await orchestrator.settleStalledLaunch(trial.id);
    }
    for (const experiment of await experiments.pendingCancels()) {
      if (orchestrator.isCanceling(experiment.id) || this.canceling.has(experiment.id)) continue;
      this.o.log.info({ experimentId: experiment.id }, 'carrying out a cancel that was asked for');
      this.canceling.add(experiment.id);
      void orchestrator
        .cancel(experiment.id)
        .catch((error) => this.o.log.warn({ err: error, experimentId: experiment.id }, 'cancel failed; trying again on the next pass'))
        .finally(() => this.canceling.delete(experiment.id));
    }
    // settleExperiment checks each candidate afresh (and leaves searches to their driver).
    for (const id of await experiments.settleCandidates(['Accepted', 'Preparing', 'Ready', 'Running'], FINISHED_TRIAL_STATES)) await settleExperiment(experiments, trials, id);
    for (const experiment of (await experiments.list({ statuses: ['Deleted'] })).items) await this.purge(experiment.id);
  }

  /**
   * The end of a delete (the experiment is already marked Deleted): its files, then what it left in the
   * store, then its row. Repeating it after a crash finishes it.
   */
  async purge(experimentId: string): Promise<void> {
    const { layout } = this.o;
    // At once, not one tree after another: each step of a recursive rm waits its turn in libuv's thread pool,
    // which a busy server's log reads and launches keep full.
    const trees = [layout.experimentLogs(experimentId), layout.experimentIndex(experimentId), layout.experimentWork(experimentId), layout.experimentCheckpoints(experimentId)];
    await Promise.all(trees.map((tree) => rm(tree, { recursive: true, force: true })));
    await this.o.trials.deleteExperiment(experimentId);
    await this.o.experiments.delete(experimentId);
  }

  /** Log, index and work directories of experiments that have no row (deleted by a server that died before purging). */
  private async purgeOrphans(): Promise<void> {
    for (const root of ['logs', 'index', 'work'].map((dir) => join(this.o.layout.dataDir, dir))) {
      const ids = (await readdir(root).catch(() => [] as string[])).filter(isExperimentId);
      for (let i = 0; i < ids.length; i += ID_CHUNK) {
        const chunk = ids.slice(i, i + ID_CHUNK);
        const existing = await this.o.experiments.existing(chunk);
        for (const id of chunk) {
          if (existing.has(id)) continue;
          this.o.log.info({ experimentId: id, dir: join(root, id) }, 'removing the files of a deleted experiment');
          await rm(join(root, id), { recursive: true, force: true });
        }
      }
    }
  }
}
