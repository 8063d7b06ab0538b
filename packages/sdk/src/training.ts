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
import type { MetricValue, SearcherState } from '@periscope/core';
import { setTimeout as delay } from 'node:timers/promises';

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
  readonly #retryMs: number;

  constructor(env: Env = process.env) {
    this.#api = (env.PERISCOPE_API ?? '').replace(/\/+$/, '');
    this.#token = env.PERISCOPE_TOKEN || undefined;
    this.#retryMs = Number(env.PERISCOPE_RETRY_SECONDS || 300) * 1000;
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
    const body = { group, reports: reports.map(([steps, metrics]) => ({ stepsCompleted: Math.trunc(steps), metrics: wireMetrics(metrics) })) };
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
      // A retry of a report whose answer was lost finds it reported already: that is success.
      await this.call('POST', `/api/v1/trials/${this.trial()}/checkpoints`, { uuid, stepsCompleted: Math.trunc(stepsCompleted), metadata }, { doneIfConflictOnRetry: true });
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

  /**
   * One request, retried while the server cannot be reached or answers 5xx (a restart, a database gone for a
   * moment), with a growing pause for up to PERISCOPE_RETRY_SECONDS (default 300): training goes on.
   */
  private async call<T = unknown>(method: 'GET' | 'POST', route: string, body?: unknown, options: { doneIfConflictOnRetry?: boolean } = {}): Promise<T> {
    if (!this.#api) throw new PeriscopeTrainingError('PERISCOPE_API is not set: not running under Periscope?');
    const deadline = Date.now() + this.#retryMs;
    let pause = 250;
    for (let attempt = 1; ; attempt++) {
      const answer = await this.once<T>(method, route, body);
      if ('result' in answer) return answer.result;
      if (answer.status === 409 && attempt > 1 && options.doneIfConflictOnRetry) return undefined as T;
      if (!answer.retry) throw new PeriscopeTrainingError(`${method} ${route}: ${answer.message}`);
      if (Date.now() + pause > deadline) throw new PeriscopeTrainingError(`${method} ${route}: gave up after ${attempt} attempts: ${answer.message}`);
      if (attempt === 1) process.stderr.write(`periscope: ${method} ${route} failed (${answer.message}); retrying for up to ${this.#retryMs / 1000} s\n`);
      await delay(pause);
      pause = Math.min(pause * 2, 10_000);
    }
  }

  private async once<T>(method: string, route: string, body: unknown): Promise<{ result: T } | { status: number; message: string; retry: boolean }> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    let response: Response;
    let text: string;
    try {
      response = await fetch(this.#api + route, { method, headers, ...(body !== undefined && { body: JSON.stringify(body) }), signal: AbortSignal.timeout(60_000) });
      text = await response.text();
    } catch (error) {
      // Refused, reset, timed out, or the answer cut short.
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      return { status: 0, message: cause?.code ?? cause?.message ?? (error as Error).message, retry: true };
    }
    let envelope: { result?: T; message?: string } | undefined;
    try {
      envelope = JSON.parse(text) as typeof envelope;
    } catch {
      // not our envelope
    }
    if (response.ok) return { result: envelope?.result as T };
    const message = envelope?.message ?? `HTTP ${response.status}`;
    return { status: response.status, message: response.status >= 500 ? `HTTP ${response.status}: ${message}` : message, retry: [500, 502, 503, 504].includes(response.status) };
  }
}

/** JSON has no NaN or infinities: they travel as the strings "NaN", "Infinity" and "-Infinity". */
function wireMetrics(metrics: MetricValues): Record<string, MetricValue> {
  const out: Record<string, MetricValue> = {};
  for (const [name, value] of Object.entries(metrics)) out[name] = Number.isFinite(value) ? value : Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
  return out;
}

/** The context of this executor (hyperparameters, rank, reporting). */
export function init(env: Env = process.env): TrainingContext {
  return new TrainingContext(env);
}
