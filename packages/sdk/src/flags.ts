import { path, type CallOptions, type Transport } from './transport.js';

/** A flag as the server keeps it. A flag never set reads as nulls with version 0. */
export interface Flag {
  name: string;
  textValue: string | null;
  intValue: number | null;
  /** Grows by one on every set or increment; what `waitFor` compares against. */
  version: number;
}

/**
 * What a set writes. A set replaces both values (netunicorn's rule): a field left out becomes null, so
 * setting only `intValue` clears the text.
 */
export interface FlagValues {
  textValue?: string | null;
  intValue?: number | null;
}

export interface GetFlagOptions extends CallOptions {
  /**
   * Long-poll: answer once the flag's version is greater than this (e.g. the version last read), or when
   * `timeout` runs out, with the flag as it then is. Default: answer at once.
   */
  waitFor?: number;
  /** Seconds the server waits for a change at most (0–60; the server's default is 30). Only with `waitFor`. */
  timeout?: number;
}

/** The longest wait the server accepts, in seconds. */
const MAX_WAIT_SECONDS = 60;

/**
 * Experiment-wide flags (`periscope.flags`), keyed by experiment id: how executors and people coordinate a
 * running experiment (barriers, stage gates, counters).
 */
export class FlagsClient {
  readonly #transport: Transport;

  constructor(transport: Transport) {
    this.#transport = transport;
  }

  async get(experimentId: string, flag: string, options: GetFlagOptions = {}): Promise<Flag> {
    const { waitFor, timeout, ...call } = options;
    if (waitFor !== undefined && (!Number.isInteger(waitFor) || waitFor < 0)) throw new TypeError(`waitFor: ${waitFor} must be a version (a whole number, 0 or more)`);
    if (timeout !== undefined && (!Number.isFinite(timeout) || timeout < 0 || timeout > MAX_WAIT_SECONDS)) {
      throw new TypeError(`timeout: ${timeout} must be between 0 and ${MAX_WAIT_SECONDS} seconds`);
    }
    // The server holds a long-poll for up to `timeout` (30 s by default): the attempt may take that much longer.
    const waits = waitFor !== undefined ? Math.ceil((timeout ?? 30) * 1000) : 0;
    const limit = this.#transport.requestTimeoutMs;
    return this.result<Flag>({
      method: 'GET',
      path: path`/experiment/${experimentId}/flags/${flag}`,
      query: { waitFor, timeout: waitFor !== undefined ? timeout : undefined },
      ...(waits > 0 && limit > 0 && { timeoutMs: limit + waits }),
      ...call,
    });
  }

  /** Every flag of the experiment that was ever set. */
  async list(experimentId: string, options: CallOptions = {}): Promise<Flag[]> {
    return this.result<Flag[]>({ method: 'GET', path: path`/experiment/${experimentId}/flags`, ...options });
  }

  /** Replaces both values atomically (a field left out becomes null); answers the flag with its new version. */
  async set(experimentId: string, flag: string, values: FlagValues, options: CallOptions = {}): Promise<Flag> {
    return this.result<Flag>({ method: 'PUT', path: path`/experiment/${experimentId}/flags/${flag}`, body: values, ...options });
  }

  /**
   * Adds `by` (default 1; negative subtracts) to the integer value atomically; a flag never set starts from 0.
   * Not retried: a lost answer may have counted.
   */
  async increment(experimentId: string, flag: string, by = 1, options: CallOptions = {}): Promise<Flag> {
    if (!Number.isSafeInteger(by)) throw new TypeError(`by: ${by} must be a whole number`);
    return this.result<Flag>({ method: 'POST', path: path`/experiment/${experimentId}/flags/${flag}/increment`, body: { by }, ...options });
  }

  private async result<T>(request: Parameters<Transport['call']>[0]): Promise<T> {
    return (await this.#transport.call<T>(request)).result;
  }
}
