/**
 * Periscope's records as the Determined REST API (0.38) shows them: the one module that turns our shapes into
 * Determined's. Field names and enums follow determined-required-fields.json (the SDK's bindings raise on a
 * missing required field); times are RFC 3339 in UTC, as Determined's protobuf timestamps are.
 */
import { toDeterminedState, type Checkpoint, type Model, type ModelVersion, type LogLine, type Trial } from '@periscope/core';
import type { ExperimentRecord } from '../experiments/store.js';

/** Determined's projects and workspaces are not modelled: everything lives in its default ones. */
export const DEFAULT_PROJECT_ID = 1;
export const DEFAULT_WORKSPACE_ID = 1;
const DEFAULT_WORKSPACE = 'Uncategorized';

/** The config an experiment shows: as it was sent through /determined, or made from its spec. */
export interface DeterminedConfig {
  original: string;
  config: Record<string, unknown>;
}

export const time = (millis: number | null | undefined): string | null => (millis == null ? null : new Date(millis).toISOString());
const isoTime = (text: string | null | undefined): string | null => (text ? new Date(text).toISOString() : null);

const TRIAL_STATES: Record<string, string> = {
  Queued: 'STATE_QUEUED',
  Preparing: 'STATE_STARTING',
  Running: 'STATE_RUNNING',
  Succeeded: 'STATE_COMPLETED',
  Failed: 'STATE_ERROR',
  Canceled: 'STATE_CANCELED',
};
export const trialState = (state: string): string => TRIAL_STATES[state] ?? 'STATE_UNSPECIFIED';

/** Log levels as the text announced them (core's parsing), in Determined's enum; unlabelled lines are INFO. */
export function logLevel(level: string | null): string {
  switch (level?.toUpperCase()) {
    case 'TRACE':
      return 'LOG_LEVEL_TRACE';
    case 'DEBUG':
      return 'LOG_LEVEL_DEBUG';
    case 'WARN':
    case 'WARNING':
      return 'LOG_LEVEL_WARNING';
    case 'ERROR':
      return 'LOG_LEVEL_ERROR';
    case 'CRITICAL':
    case 'FATAL':
      return 'LOG_LEVEL_CRITICAL';
    default:
      return 'LOG_LEVEL_INFO';
  }
}

/** Determined's pagination object for `count` items from `offset` out of `total`. */
export function pagination(offset: number, limit: number, count: number, total: number) {
  return { offset, limit, startIndex: Math.min(offset, total), endIndex: Math.min(offset + count, total), total };
}

/** One page of `items` (limit 0: the rest), with its pagination. */
export function page<T>(items: T[], offset = 0, limit = 0): { items: T[]; pagination: ReturnType<typeof pagination> } {
  const start = Math.min(offset, items.length);
  const slice = limit > 0 ? items.slice(start, start + limit) : items.slice(start);
  return { items: slice, pagination: pagination(offset, limit, slice.length, items.length) };
}

/** A config for an experiment made through Periscope's own API: what a Determined config of it would say. */
export function configOfSpec(record: ExperimentRecord): DeterminedConfig {
  const { spec } = record;
  const gpus = Object.values(spec.spec ?? {}).reduce((sum, task) => sum + Number(task.resourceMap?.gpu ?? 0) * (task.replicas ?? 1), 0);
  const config = {
    name: spec.meta.name,
    description: spec.meta.description ?? null,
    entrypoint: spec.meta.cmd ?? null,
    hyperparameters: spec.hyperparameters ?? {},
    searcher: { name: spec.searcher?.name ?? 'single', metric: spec.searcher?.metric ?? null, smaller_is_better: spec.searcher?.smallerIsBetter ?? true },
    resources: { slots_per_trial: gpus },
    max_restarts: spec.maxRestarts ?? 0,
    labels: spec.meta.tags ?? [],
  };
  // JSON is YAML: the "original" config of an experiment that never had one is this one's text.
  return { original: JSON.stringify(config), config };
}

interface Searcher {
  metric?: string;
  smaller_is_better?: boolean;
  name?: string;
}
const searcherOf = (config: DeterminedConfig): Searcher => (config.config.searcher as Searcher | undefined) ?? {};

export function experiment(record: ExperimentRecord, config: DeterminedConfig, trials: readonly Trial[], userId: number) {
  const searcher = searcherOf(config);
  return {
    id: record.seq,
    name: record.name,
    description: record.spec.meta.description ?? '',
    labels: record.spec.meta.tags ?? [],
    state: toDeterminedState(record.status),
    archived: false,
    config: config.config,
    originalConfig: config.original,
    jobId: record.id,
    numTrials: trials.length,
    trialIds: trials.map((t) => t.id),
    projectId: DEFAULT_PROJECT_ID,
    projectOwnerId: 1,
    projectName: DEFAULT_WORKSPACE,
    workspaceId: DEFAULT_WORKSPACE_ID,
    workspaceName: DEFAULT_WORKSPACE,
    searcherType: searcher.name ?? 'single',
    searcherMetric: searcher.metric ?? '',
    resourcePool: '',
    startTime: time(record.acceptedAt),
    endTime: time(record.finishedAt),
    username: record.owner,
    userId,
    hyperparameters: config.config.hyperparameters ?? {},
    unmanaged: false,
  };
}

export function trial(view: Trial, experimentSeq: number) {
  return {
    id: view.id,
    experimentId: experimentSeq,
    hparams: view.hparams,
    restarts: view.restarts,
    startTime: isoTime(view.startedTime ?? view.queuedTime),
    endTime: isoTime(view.finishedTime),
    state: trialState(view.state),
    totalBatchesProcessed: view.stepsCompleted ?? 0,
    searcherMetricValue: view.bestValidation ?? null,
    taskId: `${experimentSeq}.${view.id}`,
    taskIds: [`${experimentSeq}.${view.id}`],
    wallClockTime: view.startedTime ? ((view.finishedTime ? Date.parse(view.finishedTime) : Date.now()) - Date.parse(view.startedTime)) / 1000 : 0,
  };
}

/**
 * A checkpoint with the config it was made under. `storageDir` is the directory its trial's checkpoints live
 * in (`<dir>/<uuid>`): a `directory` storage, so the SDK's direct download copies it on the same host.
 */
export function checkpoint(view: Checkpoint, experimentSeq: number, config: DeterminedConfig, storageDir: string) {
  const metric = searcherOf(config).metric;
  const validation = view.training.validationMetrics;
  return {
    uuid: view.uuid,
    state: view.state === 'COMPLETED' ? 'STATE_COMPLETED' : 'STATE_DELETED',
    reportTime: isoTime(view.reportTime),
    resources: view.resources,
    // Determined keeps the step in the metadata; the SDK shows and round-trips it there.
    metadata: { steps_completed: view.stepsCompleted, ...view.metadata },
    taskId: `${experimentSeq}.${view.trialId}`,
    allocationId: `${experimentSeq}.${view.trialId}.0`,
    storageId: 1,
    training: {
      trialId: view.trialId,
      experimentId: experimentSeq,
      experimentConfig: { ...config.config, checkpoint_storage: { type: 'directory', container_path: storageDir } },
      hparams: view.training.hparams,
      validationMetrics: { avgMetrics: validation ?? {}, batchMetrics: [] },
      trainingMetrics: { avgMetrics: {}, batchMetrics: [] },
      searcherMetric: metric !== undefined && typeof validation?.[metric] === 'number' ? validation[metric] : null,
    },
  };
}
export type DeterminedCheckpoint = ReturnType<typeof checkpoint>;

export function model(view: Model, userId: number) {
  return {
    id: view.id,
    name: view.name,
    description: view.description,
    metadata: view.metadata,
    labels: view.labels,
    archived: view.archived,
    creationTime: isoTime(view.creationTime),
    lastUpdatedTime: isoTime(view.lastUpdatedTime),
    numVersions: view.numVersions,
    userId,
    username: view.owner ?? '',
    workspaceId: DEFAULT_WORKSPACE_ID,
    notes: '',
  };
}

export function modelVersion(view: ModelVersion, owner: ReturnType<typeof model>, presentedCheckpoint: DeterminedCheckpoint) {
  return {
    // Versions are numbered per model and addressed by number, so the number is the id the SDK sends back.
    id: view.version,
    version: view.version,
    model: owner,
    checkpoint: presentedCheckpoint,
    creationTime: isoTime(view.creationTime),
    lastUpdatedTime: isoTime(view.creationTime),
    name: view.name ?? '',
    comment: view.comment ?? '',
    notes: view.notes ?? '',
    metadata: view.metadata,
    labels: [],
    userId: owner.userId,
    username: owner.username,
  };
}

/** One NDJSON line of a trial's log; `id` counts lines of this answer. */
export function logLine(line: LogLine, trialId: number, id: number): string {
  const message = `${line.text}\n`;
  return `${JSON.stringify({ result: { id, trialId, message, log: message, timestamp: isoTime(line.time), level: logLevel(line.level), rankId: line.rank, stdtype: line.stream, source: 'task', agentId: '', containerId: line.executor } })}\n`;
}
