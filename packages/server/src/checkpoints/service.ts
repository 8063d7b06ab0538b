/**
 * The training-side API (metrics, checkpoints, the searcher's budget) and the reading side (checkpoint
 * listing, top checkpoints, download). Checkpoint files stay where the training code wrote them, under
 * PERISCOPE_CHECKPOINT_DIR/<uuid>/; the store keeps what indexes them.
 */
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ConflictError, formatTime, NotFoundError, reportTimes, ValidationError, type Checkpoint, type MetricGroup, type MetricReport, type MetricValue, type ReportCheckpointRequest, type ReportMetricsRequest, type SearcherState } from '@periscope/core';
import type { ExperimentStore } from '../experiments/store.js';
import type { EventBus } from '../execution/events.js';
import type { DataLayout } from '../logs/layout.js';
import type { MetricStore } from '../metrics/store.js';
import { isTrialFinished, type TrialRecord, type TrialStore } from '../trials/store.js';
import { listResources } from './files.js';
import type { KeptCheckpoints } from './kept.js';
import type { CheckpointRecord, CheckpointStore } from './store.js';

/** Model versions that keep a checkpoint (the registry's answer); its deletion is refused while any does. */
export type KeptBy = (uuid: string) => Promise<{ model: string; version: number }[]>;

export interface TopCheckpointOptions {
  sortBy?: string;
  smallerIsBetter?: boolean;
  limit?: number;
}

export class TrainingService {
  constructor(
    private readonly trials: TrialStore,
    private readonly experiments: ExperimentStore,
    private readonly metrics: MetricStore,
    private readonly checkpoints: CheckpointStore,
    private readonly layout: DataLayout,
    private readonly kept: KeptCheckpoints,
    /** Metric reports and checkpoints are published here (the search driver hears validations). */
    private readonly bus: EventBus,
    private readonly keptBy: KeptBy = async () => [],
  ) {}

  async reportMetrics(trialId: number, request: ReportMetricsRequest): Promise<{ accepted: number }> {
    const trial = await this.requireLive(trialId);
    const experiment = await this.experiments.get(trial.experimentId);
    const searcher = experiment?.spec.searcher;
    await this.metrics.append(trialId, request.group, request.reports, { metric: searcher?.metric ?? null, smallerIsBetter: searcher?.smallerIsBetter ?? true });
    this.bus.emit('metrics.reported', { trial, group: request.group, reports: request.reports });
    return { accepted: request.reports.length };
  }

  async reports(trialId: number, group: MetricGroup | undefined, limit: number, afterSteps?: number, name?: string): Promise<MetricReport[]> {
    await this.require(trialId);
    const time = reportTimes();
    if (name !== undefined) {
      const points = await this.metrics.series(trialId, group, limit, afterSteps, name);
      return points.map((p) => ({ group: p.group, stepsCompleted: p.stepsCompleted, metrics: { [name]: p.value }, time: time(p.reportedAt) }));
    }
    const rows = await this.metrics.reports(trialId, group, limit, afterSteps);
    return rows.map((r) => ({ group: r.group, stepsCompleted: r.stepsCompleted, metrics: r.metrics, time: time(r.reportedAt) }));
  }

  /** One metric's series (`reports` with a name) as the JSON text of its items; null: use `reports`. */
  async seriesJson(trialId: number, group: MetricGroup | undefined, limit: number, afterSteps: number | undefined, name: string): Promise<string | null> {
    await this.require(trialId);
    return this.metrics.seriesJson(trialId, group, limit, afterSteps, name);
  }

  async reportCheckpoint(trialId: number, request: ReportCheckpointRequest): Promise<Checkpoint> {
    const trial = await this.requireLive(trialId);
    const uuid = request.uuid.toLowerCase();
    const dir = this.checkpointDir(trial, uuid);
    const isDir = await stat(dir).then((s) => s.isDirectory(), () => false);
    if (!isDir) throw new ValidationError(`uuid: no checkpoint files under ${dir} (write them to $PERISCOPE_CHECKPOINT_DIR/${uuid}/ first)`, 'uuid');
    const record: CheckpointRecord = {
      uuid,
      trialId,
      experimentId: trial.experimentId,
      stepsCompleted: request.stepsCompleted,
      state: 'COMPLETED',
      reportTime: Date.now(),
      resources: await listResources(dir),
      metadata: request.metadata ?? {},
    };
    if (!(await this.checkpoints.insert(record))) throw new ConflictError(`Checkpoint ${uuid} was already reported.`);
    const checkpoint = await this.present(record, trial);
    this.bus.emit('checkpoint.reported', { trial, checkpoint });
    return checkpoint;
  }

  /** A checkpoint of a live experiment, or one the registry kept after its experiment was deleted. */
  async checkpoint(uuid: string): Promise<Checkpoint> {
    const key = uuid.toLowerCase();
    const record = await this.checkpoints.get(key);
    const trial = record && (await this.trials.get(record.trialId));
    if (record && trial) return this.present(record, trial);
    const kept = await this.kept.get(key);
    if (kept) return kept.view;
    throw new NotFoundError(`Not found checkpoint ${uuid}.`);
  }

  /**
   * Before an experiment is purged: every checkpoint of it that a model version holds moves to the registry
   * (record and files), so the version keeps its checkpoint. Safe to repeat.
   */
  async keepHeld(experimentId: string): Promise<void> {
    const experiment = await this.experiments.get(experimentId);
    if (!experiment) return;
    const trials = new Map((await this.trials.ofExperiment(experimentId)).map((t) => [t.id, t]));
    for (const record of await this.checkpoints.ofExperiment(experimentId)) {
      const trial = trials.get(record.trialId);
      if (!trial || record.state !== 'COMPLETED' || (await this.keptBy(record.uuid)).length === 0) continue;
      const previous = await this.kept.get(record.uuid);
      await this.kept.keep(previous?.view ?? (await this.present(record, trial)), experiment.owner, this.checkpointDir(trial, record.uuid));
    }
  }

  /** After a version or model is deleted: a kept checkpoint no version holds any more goes (record and files). */
  async releaseUnheld(uuid: string): Promise<void> {
    if ((await this.keptBy(uuid)).length > 0 || !(await this.kept.get(uuid))) return;
    // An experiment whose deletion did not go through still has the checkpoint: its files go back.
    const record = await this.checkpoints.get(uuid);
    const trial = record && (await this.trials.get(record.trialId));
    const experiment = trial && (await this.experiments.get(trial.experimentId));
    if (trial && experiment && experiment.status !== 'Deleted') await this.kept.restore(uuid, this.checkpointDir(trial, uuid));
    await this.kept.release(uuid);
  }

  async ofTrial(trialId: number, sortBy?: string, order: 'asc' | 'desc' = 'asc'): Promise<Checkpoint[]> {
    const trial = await this.require(trialId);
    const views = await Promise.all((await this.checkpoints.ofTrial(trialId)).map((c) => this.present(c, trial)));
    if (sortBy !== undefined) requireMetric(views, sortBy, `trial ${trialId}`);
    return sortCheckpoints(views, sortBy, order === 'desc');
  }

  /** Every checkpoint of an experiment's trials, deleted ones included, in report order. */
  async ofExperiment(experimentId: string): Promise<Checkpoint[]> {
    const trials = new Map((await this.trials.ofExperiment(experimentId)).map((t) => [t.id, t]));
    const records = (await this.checkpoints.ofExperiment(experimentId)).filter((c) => trials.has(c.trialId));
    return Promise.all(records.map((c) => this.present(c, trials.get(c.trialId)!)));
  }

  /**
   * The best checkpoints of an experiment by a validation metric (default: the searcher's), at most one per
   * trial, best first. A metric that no checkpoint's step reported is an error, not an empty answer.
   */
  async top(experimentId: string, options: TopCheckpointOptions = {}): Promise<Checkpoint[]> {
    const experiment = await this.experiments.get(experimentId);
    if (!experiment) throw new NotFoundError('Not found experiment.');
    const searcher = experiment.spec.searcher;
    const metric = options.sortBy ?? searcher?.metric;
    const smallerIsBetter = options.smallerIsBetter ?? searcher?.smallerIsBetter ?? true;
    const records = (await this.checkpoints.ofExperiment(experimentId)).filter((c) => c.state === 'COMPLETED');
    const trials = new Map((await this.trials.ofExperiment(experimentId)).map((t) => [t.id, t]));
    const views = await Promise.all(records.map((c) => this.present(c, trials.get(c.trialId)!)));
    if (views.length === 0) return [];
    if (!metric) throw new ValidationError('sortBy: give a validation metric name (the experiment has no searcher metric)', 'sortBy');
    requireMetric(views, metric, experimentId);
    const scored = views.filter((v) => typeof v.training.validationMetrics?.[metric] === 'number');
    const ordered = sortCheckpoints(scored, metric, !smallerIsBetter);
    const bestPerTrial = new Map<number, Checkpoint>();
    for (const c of ordered) if (!bestPerTrial.has(c.trialId)) bestPerTrial.set(c.trialId, c);
    return [...bestPerTrial.values()].slice(0, options.limit ?? 1);
  }

  /** The directory to archive for a download. */
  async filesOf(uuid: string): Promise<string> {
    const keptFiles = await this.kept.filesDir(uuid.toLowerCase());
    if (keptFiles) return keptFiles;
    const record = await this.requireCheckpoint(uuid);
    if (record.state !== 'COMPLETED') throw new ConflictError(`Checkpoint ${uuid} was deleted; its files are gone.`);
    return this.checkpointDir(await this.require(record.trialId), record.uuid);
  }

  async updateMetadata(uuid: string, add: Record<string, unknown> = {}, remove: string[] = []): Promise<Checkpoint> {
    const change = (current: Record<string, unknown>) => {
      const metadata = { ...current, ...add };
      for (const key of remove) delete metadata[key];
      return metadata;
    };
    const key = uuid.toLowerCase();
    const kept = await this.kept.get(key);
    // Once kept, the registry's record is the one shown; a row still there is about to be purged.
    if (kept) {
      await this.kept.save({ ...kept, view: { ...kept.view, metadata: change(kept.view.metadata) } });
      if (await this.checkpoints.get(key)) await this.checkpoints.setMetadata(key, change(kept.view.metadata));
      return this.checkpoint(key);
    }
    const record = await this.requireCheckpoint(uuid);
    await this.checkpoints.setMetadata(record.uuid, change(record.metadata));
    return this.checkpoint(record.uuid);
  }

  async deleteCheckpoint(uuid: string): Promise<Checkpoint> {
    const key = uuid.toLowerCase();
    const record = await this.checkpoints.get(key);
    const kept = await this.kept.get(key);
    if (!record && !kept) throw new NotFoundError(`Not found checkpoint ${uuid}.`);
    const versions = await this.keptBy(key);
    if (versions.length > 0) {
      throw new ConflictError(`Checkpoint ${key} is ${versions.map((v) => `version ${v.version} of model "${v.model}"`).join(', ')}; delete those versions first.`);
    }
    await this.releaseUnheld(key);
    if (!record) return { ...kept!.view, state: 'DELETED', resources: {} };
    const trial = await this.require(record.trialId);
    await rm(this.checkpointDir(trial, record.uuid), { recursive: true, force: true });
    await this.checkpoints.markDeleted(record.uuid);
    return this.checkpoint(record.uuid);
  }

  async searcherState(trialId: number): Promise<SearcherState> {
    const trial = await this.require(trialId);
    return { maxLength: trial.lengthBudget, shouldStop: isTrialFinished(trial.state) || trial.stopRequested };
  }

  /** Where a trial's checkpoint lives; the uuid is validated by the schema, so it is a safe path segment. */
  checkpointDir(trial: TrialRecord, uuid: string): string {
    return join(this.layout.checkpointDir(trial.experimentId, trial.number), uuid);
  }

  private async present(record: CheckpointRecord, trial: TrialRecord): Promise<Checkpoint> {
    return {
      uuid: record.uuid,
      trialId: record.trialId,
      experimentId: record.experimentId,
      stepsCompleted: record.stepsCompleted,
      state: record.state,
      reportTime: formatTime(record.reportTime)!,
      resources: record.resources,
      metadata: record.metadata,
      training: { hparams: trial.hparams, validationMetrics: await this.metrics.validationAt(record.trialId, record.stepsCompleted) },
    };
  }

  private async require(trialId: number): Promise<TrialRecord> {
    const trial = await this.trials.get(trialId);
    if (!trial) throw new NotFoundError(`Not found trial ${trialId}.`);
    return trial;
  }

  private async requireLive(trialId: number): Promise<TrialRecord> {
    const trial = await this.require(trialId);
    if (isTrialFinished(trial.state)) throw new ConflictError(`Trial ${trialId} has ended (${trial.state}); it takes no more reports.`);
    return trial;
  }

  private async requireCheckpoint(uuid: string): Promise<CheckpointRecord> {
    const record = await this.checkpoints.get(uuid.toLowerCase());
    if (!record) throw new NotFoundError(`Not found checkpoint ${uuid}.`);
    return record;
  }
}

/**
 * A metric to rank by must be one that some checkpoint's step reported (none at all: nothing to rank, not an
 * error); the same 400 for a trial's list and an experiment's top, naming the metric and what was reported.
 */
function requireMetric(views: Checkpoint[], metric: string, of: string): void {
  if (views.length === 0 || views.some((v) => typeof v.training.validationMetrics?.[metric] === 'number')) return;
  const reported = [...new Set(views.flatMap((v) => Object.keys(v.training.validationMetrics ?? {})))].sort();
  const known = reported.length === 0 ? 'no validation metrics were reported at its checkpoints' : `reported: ${reported.join(', ')}`;
  throw new ValidationError(`sortBy: no checkpoint of ${of} has a validation metric "${metric}" reported at its step (${known})`, 'sortBy');
}

/** Sorts by a validation metric (checkpoints without it last) or, without one, by steps then report time. */
function sortCheckpoints(views: Checkpoint[], sortBy: string | undefined, descending: boolean): Checkpoint[] {
  return orderCheckpoints(views, (c) => (sortBy ? c.training.validationMetrics?.[sortBy] : c.stepsCompleted), descending);
}

/** Checkpoints by a numeric key; a missing, NaN or infinite value sorts as if it were missing: last, either way. */
export function orderCheckpoints(views: readonly Checkpoint[], valueOf: (checkpoint: Checkpoint) => unknown, descending: boolean): Checkpoint[] {
  const key = (c: Checkpoint) => {
    const value = valueOf(c);
    return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
  };
  return [...views].sort((a, b) => {
    const x = key(a);
    const y = key(b);
    if (x === undefined || y === undefined) return x === undefined ? (y === undefined ? 0 : 1) : -1;
    return descending ? y - x : x - y;
  });
}

