/**
 * @periscope/sdk/training: the training-side helper for TypeScript trials, the twin of python/periscope.py.
 *
 * ```ts
 * import { init } from '@periscope/sdk/training';
 * const ctx = init();
 * const lr = Number(ctx.hparams.lr ?? 0.1);
 * for (let step = 1; step <= ((await ctx.maxLength()) ?? 100); step++) {
 *   await ctx.reportTrainingMetrics(step, { loss: trainOneStep(lr) });
 *   if (step % 10 === 0) {
 *     await ctx.reportValidationMetrics(step, { loss: evaluate() });
 *     await ctx.checkpoint(step, { framework: 'tfjs' }, async (dir) => saveModel(dir));
 *   }
 *   if (await ctx.shouldStop()) break;
 * }
 * ```
 * Node only (it makes the checkpoint directory); it reads the variables the launcher sets on each executor.
 */
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { SearcherState } from '@periscope/core';

type Env = Record<string, string | undefined>;
export type MetricValues = Record<string, number>;

/** The server refused a report, or the process does not run under Periscope; the message says which. */
export class PeriscopeTrainingError extends Error {
  readonly code = 'TRAINING_API';
  constructor(message: string) {
    super(message);
    this.name = 'PeriscopeTrainingError';
  }
}

/** This executor's place in the gang, from the variables the launcher sets. */
export class Distributed {
  readonly rank: number;
  readonly localRank: number;
  readonly size: number;
  readonly masterAddr: string;
  readonly masterPort: number;

  constructor(env: Env) {
    this.rank = Number(env.RANK ?? 0);
    this.localRank = Number(env.LOCAL_RANK ?? 0);
    this.size = Number(env.WORLD_SIZE ?? 1);
    this.masterAddr = env.MASTER_ADDR ?? '127.0.0.1';
    this.masterPort = Number(env.MASTER_PORT || 0);
  }

  get isChief(): boolean {
    return this.rank === 0;
  }
}

/** A checkpoint directory made by `ctx.checkpoint(steps)`: write the files into `path`, then `report()`. */
export interface PendingCheckpoint {
  uuid: string;
  path: string;
  report(): Promise<void>;
}

export class TrainingContext {
  readonly trialId: number | undefined;
  readonly experimentId: string | undefined;
  readonly hparams: Record<string, unknown>;
  readonly checkpointDir: string | undefined;
  /** The directory of the latest checkpoint: set on a restarted trial, and after each reported checkpoint. */
  latestCheckpoint: string | undefined;
  readonly distributed: Distributed;
  readonly #api: string;
  readonly #token: string | undefined;

  constructor(env: Env = process.env) {
    this.#api = (env.PERISCOPE_API ?? '').replace(/\/+$/, '');
    this.#token = env.PERISCOPE_TOKEN || undefined;
    this.trialId = env.PERISCOPE_TRIAL_ID ? Number(env.PERISCOPE_TRIAL_ID) : undefined;
    this.experimentId = env.PERISCOPE_EXPERIMENT_ID || undefined;
    this.hparams = JSON.parse(env.PERISCOPE_HPARAMS || '{}') as Record<string, unknown>;
    this.checkpointDir = env.PERISCOPE_CHECKPOINT_DIR || undefined;
    this.latestCheckpoint = env.PERISCOPE_LATEST_CHECKPOINT || undefined;
    this.distributed = new Distributed(env);
  }

  reportTrainingMetrics(stepsCompleted: number, metrics: MetricValues): Promise<void> {
    return this.reportMetricsBatch('training', [[stepsCompleted, metrics]]);
  }

  reportValidationMetrics(stepsCompleted: number, metrics: MetricValues): Promise<void> {
    return this.reportMetricsBatch('validation', [[stepsCompleted, metrics]]);
  }

  /** Many reports in one request: `[stepsCompleted, {name: value}]` pairs. */
  async reportMetricsBatch(group: 'training' | 'validation', reports: ReadonlyArray<readonly [number, MetricValues]>): Promise<void> {
    const body = { group, reports: reports.map(([steps, metrics]) => ({ stepsCompleted: Math.trunc(steps), metrics })) };
    await this.call('POST', `/api/v1/trials/${this.trial()}/metrics`, body);
  }

  /**
   * A fresh checkpoint directory. With `write`, calls it with the directory and reports the checkpoint when it
   * resolves (not when it rejects), answering the directory; without, answers `{uuid, path, report()}`.
   */
  checkpoint(stepsCompleted: number, metadata: Record<string, unknown> | undefined, write: (path: string) => unknown): Promise<string>;
  checkpoint(stepsCompleted: number, metadata?: Record<string, unknown>): Promise<PendingCheckpoint>;
  async checkpoint(stepsCompleted: number, metadata: Record<string, unknown> = {}, write?: (path: string) => unknown): Promise<string | PendingCheckpoint> {
    if (!this.checkpointDir) throw new PeriscopeTrainingError('PERISCOPE_CHECKPOINT_DIR is not set: not running under Periscope?');
    const uuid = randomUUID();
    const path = join(this.checkpointDir, uuid);
    await mkdir(path, { recursive: true });
    const report = async () => {
      await this.call('POST', `/api/v1/trials/${this.trial()}/checkpoints`, { uuid, stepsCompleted: Math.trunc(stepsCompleted), metadata });
      this.latestCheckpoint = path;
    };
    if (!write) return { uuid, path, report };
    await write(path);
    await report();
    return path;
  }

  /** How long to train (steps, or the searcher's time metric); null when no searcher sets a budget. */
  async maxLength(): Promise<number | null> {
    return (await this.searcher()).maxLength;
  }

  /** True once the searcher (or a cancel) wants this trial to stop: save and exit soon after. */
  async shouldStop(): Promise<boolean> {
    return (await this.searcher()).shouldStop;
  }

  private searcher(): Promise<SearcherState> {
    return this.call<SearcherState>('GET', `/api/v1/trials/${this.trial()}/searcher`);
  }

  private trial(): number {
    if (this.trialId === undefined) throw new PeriscopeTrainingError('PERISCOPE_TRIAL_ID is not set: not running under Periscope?');
    return this.trialId;
  }

  private async call<T = unknown>(method: 'GET' | 'POST', route: string, body?: unknown): Promise<T> {
    if (!this.#api) throw new PeriscopeTrainingError('PERISCOPE_API is not set: not running under Periscope?');
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    const response = await fetch(this.#api + route, { method, headers, ...(body !== undefined && { body: JSON.stringify(body) }), signal: AbortSignal.timeout(60_000) });
    const text = await response.text();
    let envelope: { result?: T; message?: string } | undefined;
    try {
      envelope = JSON.parse(text) as typeof envelope;
    } catch {
      // not our envelope
    }
    if (!response.ok) throw new PeriscopeTrainingError(`${method} ${route}: ${envelope?.message ?? `HTTP ${response.status}`}`);
    return envelope?.result as T;
  }
}

/** The context of this executor (hyperparameters, rank, reporting). */
export function init(env: Env = process.env): TrainingContext {
  return new TrainingContext(env);
}
