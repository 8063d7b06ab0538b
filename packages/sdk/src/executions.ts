import type { ExecutionInfo, ExperimentSpec } from '@periscope/core';
import { PeriscopeTimeoutError } from './errors.js';
import { path, sleep, type CallOptions, type Transport } from './transport.js';

/** netunicorn's status of an execution: UNKNOWN, PREPARING, READY, RUNNING or FINISHED. */
export type ExecutionStatus = ExecutionInfo['status'];

/** What the server answers for executors it was asked to stop. */
export interface CancelExecutorsResult {
  /** Stopped by this call. */
  canceled: string[];
  /** Had already ended: nothing to do (not an error). */
  alreadyEnded: string[];
}

export interface WaitForExecutionOptions extends CallOptions {
  /** The status to wait for: `READY` (prepared; returns also if it went further) or `FINISHED`. Default FINISHED. */
  until?: 'READY' | 'FINISHED';
  /** Milliseconds between two reads of the status. Default 500. */
  pollIntervalMs?: number;
  /** Give up after this many milliseconds with `PeriscopeTimeoutError`. Default: as long as it takes. */
  timeoutMs?: number;
  /** Called with every status read; an error it throws ends the wait. */
  onProgress?: (info: ExecutionInfo, elapsedMs: number) => void;
}

/** How far along each status is; UNKNOWN (gone, or broken) ends any wait. */
const STAGE: Record<ExecutionStatus, number> = { PREPARING: 0, READY: 1, RUNNING: 2, FINISHED: 3, UNKNOWN: 4 };

/**
 * Executions (`periscope.executions`): experiments under a name you choose, prepared and started in two
 * idempotent steps (netunicorn's lifecycle). The name is the key until `delete` releases it.
 */
export class ExecutionsClient {
  readonly #transport: Transport;

  constructor(transport: Transport) {
    this.#transport = transport;
  }

  /**
   * Prepares `spec` under `name` (it does not start; status PREPARING, then READY). A PUT, so it is retried
   * after a network failure: the same spec under the same name answers the same experiment. A different spec
   * under a live name is a CONFLICT.
   */
  async prepare(name: string, spec: ExperimentSpec, options: CallOptions = {}): Promise<ExecutionInfo> {
    return this.result({ method: 'PUT', path: path`/executions/${name}`, body: spec, ...options });
  }

  /**
   * Starts a prepared execution. The server never launches twice (a repeat, or a start of one that runs or
   * has finished, answers its status), so this POST is retried after a network failure.
   */
  async start(name: string, options: CallOptions = {}): Promise<ExecutionInfo> {
    return this.result({ method: 'POST', path: path`/executions/${name}/start`, idempotent: true, ...options });
  }

  /** Status, the experiment (with its executors' names once planned), and per-executor results once it ran. */
  async status(name: string, options: CallOptions = {}): Promise<ExecutionInfo> {
    return this.result({ method: 'GET', path: path`/executions/${name}`, ...options });
  }

  /** Every execution, name → status info. */
  async list(options: CallOptions = {}): Promise<Record<string, ExecutionInfo>> {
    return this.result({ method: 'GET', path: '/executions', ...options });
  }

  /** Stops every executor and answers once none is left; a repeat (or cancel of an ended one) changes nothing. */
  async cancel(name: string, options: CallOptions = {}): Promise<ExecutionInfo> {
    return this.result({ method: 'POST', path: path`/executions/${name}/cancel`, idempotent: true, ...options });
  }

  /** Deletes an execution that is not preparing or running (CONFLICT otherwise) and frees its name. */
  async delete(name: string, options: CallOptions = {}): Promise<ExecutionInfo> {
    return this.result({ method: 'DELETE', path: path`/executions/${name}`, ...options });
  }

  /**
   * Stops the named executors (from `executionResult[].executor`, possibly of several executions); the rest
   * run on. Unknown names are a NOT_FOUND naming them. Not retried: a repeat would report as already ended
   * what the lost first call stopped.
   */
  async cancelExecutors(executors: string[], options: CallOptions = {}): Promise<CancelExecutorsResult> {
    if (executors.length === 0) throw new TypeError('executors: give at least one executor name');
    return this.result({ method: 'POST', path: '/executors/cancel', body: { executors }, ...options });
  }

  /**
   * Polls until the execution is `until` (READY also returns when it is already RUNNING or FINISHED) or
   * UNKNOWN, and answers its status info. Rejects with `PeriscopeTimeoutError` after `timeoutMs`.
   */
  async wait(name: string, options: WaitForExecutionOptions = {}): Promise<ExecutionInfo> {
    const { until = 'FINISHED', pollIntervalMs = 500, timeoutMs, onProgress, signal } = options;
    if (until !== 'READY' && until !== 'FINISHED') throw new TypeError(`until: "${String(until)}" must be READY or FINISHED`);
    const started = Date.now();
    const deadline = timeoutMs !== undefined ? started + timeoutMs : Infinity;
    for (;;) {
      const info = await this.status(name, signal ? { signal } : {});
      onProgress?.(info, Date.now() - started);
      if (STAGE[info.status] >= STAGE[until]) return info;
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new PeriscopeTimeoutError(`execution ${name} is still ${info.status} after ${Math.round((Date.now() - started) / 1000)} s`, info.status);
      }
      await sleep(Math.min(pollIntervalMs, remaining), signal);
    }
  }

  private async result<T>(request: Parameters<Transport['call']>[0]): Promise<T> {
    return (await this.#transport.call<T>(request)).result;
  }
}
