/**
 * The backstop that makes every experiment reach a terminal state: at startup (after the orchestrator has
 * recovered) and then periodically, it settles what events alone left unsettled — a trial recorded Running
 * whose executors have all ended, a trial left Preparing by a launch that failed without saying so, a plain
 * experiment whose trials have all ended, a cancel that was asked for but not carried out, a delete cut short.
 * Each check is idempotent and reads the store afresh, so a check that fails (the database is away) is simply
 * made again on the next pass.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isExperimentId } from '@periscope/core';
import type { FastifyBaseLogger } from 'fastify';
import type { ExperimentStore } from '../experiments/store.js';
import type { DataLayout } from '../logs/layout.js';
import { FINISHED_TRIAL_STATES, type TrialStore } from '../trials/store.js';
import type { Orchestrator } from './orchestrator.js';
import { settleExperiment } from './settle.js';
import { within } from './within.js';

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
  /** Trees set aside by deletes and still being removed (waited for by `close`). */
  private readonly removing = new Set<Promise<void>>();
  private trashMade: Promise<unknown> | undefined;

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

  /**
   * Stops the passes and lets the removals of deleted trees under way finish, for at most `ms` (a big
   * checkpoint tree must not hold a shutdown): the next start removes what is left in the trash.
   */
  async close(ms = 2000): Promise<void> {
    this.stop();
    await within(ms, Promise.all(this.removing));
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
   * store, then its row. Repeating it after a crash finishes it. The trees are moved into the trash (a rename
   * each, all at once) and removed after the answer: a recursive rm is a trip through the event loop per
   * directory and entry, and under 50 clients a delete waited a median ~280 ms for them (bench/README.md).
   */
  async purge(experimentId: string): Promise<void> {
    const { layout } = this.o;
    const trees = [layout.experimentLogs(experimentId), layout.experimentIndex(experimentId), layout.experimentWork(experimentId), layout.experimentCheckpoints(experimentId)];
    const aside = await Promise.all(trees.map((tree) => this.setAside(tree)));
    await this.o.trials.deleteExperiment(experimentId);
    await this.o.experiments.delete(experimentId);
    for (const path of aside) if (path) this.removeLater(path);
  }

  /** Moves a tree into the trash; undefined when it was removed in place (or there was none). */
  private async setAside(tree: string): Promise<string | undefined> {
    const aside = join(this.o.layout.trash, randomUUID());
    try {
      await (this.trashMade ??= mkdir(this.o.layout.trash, { recursive: true }));
      await rename(tree, aside);
      return aside;
    } catch {
      // No such tree (the rm is then a no-op), another disk (EXDEV), or no trash: removed here, as before.
      await rm(tree, { recursive: true, force: true });
      return undefined;
    }
  }

  private removeLater(path: string): void {
    const removal = rm(path, { recursive: true, force: true })
      .catch((error) => this.o.log.warn({ err: error, path }, 'could not remove the files of a deleted experiment; the next start tries again'))
      .finally(() => this.removing.delete(removal));
    this.removing.add(removal);
  }

  /** Log, index and work directories of experiments that have no row (deleted by a server that died before purging). */
  private async purgeOrphans(): Promise<void> {
    // What deletes had set aside and not yet removed when the server stopped: after the start's answer.
    for (const entry of await readdir(this.o.layout.trash).catch(() => [] as string[])) this.removeLater(join(this.o.layout.trash, entry));
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
