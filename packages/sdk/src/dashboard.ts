/**
 * What the web dashboard reads beyond the other clients: a browser session (the token in an HttpOnly cookie,
 * a CSRF token for the client's `x-csrf-token` header), experiment summaries by page, the live feed, and log
 * pages. Works in Node too (without the cookie, which Node's fetch does not keep).
 */
import type { BrowserSession, DashboardEvent, ExperimentSummary, LogLine } from '@periscope/core';
import { readFollowedLines } from './followed-lines.js';
import { readServerSentEvents } from './sse.js';
import { nextCursorOf, path, type CallOptions, type Transport } from './transport.js';

export type FeedEvent = DashboardEvent | { type: 'ready' };

export interface SummariesOptions extends CallOptions {
  /** Submarine status, any case (Accepted, Created, Running, Succeeded, Failed). */
  status?: string;
  /** Only names containing this text, in any case. */
  name?: string;
  owner?: string;
  /** Page size (default 50, at most 500). */
  limit?: number;
  /** The `nextCursor` of the previous (newer) page. */
  before?: string;
}

export interface LogFilter {
  executor?: string;
  rank?: number;
  stream?: 'stdout' | 'stderr';
}

export interface LogPageOptions extends LogFilter, CallOptions {
  /** The `nextCursor` of the previous page. */
  after?: string;
  head?: number;
  tail?: number;
  limit?: number;
}

export interface FollowOptions extends LogFilter, CallOptions {
  /** Resume after the line of this id. */
  after?: string;
  /** Start with the last N lines instead of the whole backlog. */
  tail?: number;
}

export class DashboardClient {
  readonly #transport: Transport;

  constructor(transport: Transport) {
    this.#transport = transport;
  }

  /** Logs in as a browser does: the server sets the session cookies; send `csrfToken` as `x-csrf-token`. */
  async login(username: string, password: string, options: CallOptions = {}): Promise<BrowserSession> {
    return (await this.#transport.call<BrowserSession>({ method: 'POST', path: '/auth/session', body: { username, password }, anonymous: true, ...options })).result;
  }

  /** Ends the browser's session: its token is revoked, its cookies cleared. */
  async logout(options: CallOptions = {}): Promise<void> {
    await this.#transport.call<null>({ method: 'DELETE', path: '/auth/session', ...options });
  }

  /** A page of experiment summaries, newest first; pass `nextCursor` as `before` for the next (older) page. */
  async summaries(options: SummariesOptions = {}): Promise<{ items: ExperimentSummary[]; nextCursor: string | null }> {
    const { status, name, owner, limit, before, signal } = options;
    const answer = await this.#transport.call<ExperimentSummary[]>({ method: 'GET', path: '/experiments', query: { status, name, owner, limit, before }, ...(signal && { signal }) });
    return { items: answer.result, nextCursor: nextCursorOf(answer.attributes) };
  }

  /**
   * The live feed until `signal` aborts or the connection drops (then it returns or throws: reconnect, and read
   * what you show again after its `ready`). With `experiment`, only that one and its trials' nudges.
   */
  async *events(options: CallOptions & { experiment?: string } = {}): AsyncGenerator<FeedEvent, void> {
    const response = await this.#transport.open({ method: 'GET', path: '/events', query: { experiment: options.experiment }, timeoutMs: 0, ...(options.signal && { signal: options.signal }) });
    for await (const event of readServerSentEvents(response.body!, options.signal)) {
      yield JSON.parse(event.data) as FeedEvent;
    }
  }

  /** One page of a trial's log lines, and the cursor of the next (null at the end for now). */
  async logPage(trialId: number, options: LogPageOptions = {}): Promise<{ lines: LogLine[]; nextCursor: string | null }> {
    const { after, head, tail, limit, executor, rank, stream, signal } = options;
    const answer = await this.#transport.call<LogLine[]>({
      method: 'GET',
      path: path`/trials/${String(trialId)}/logs`,
      query: { after, head, tail, limit, executor, rank, stream },
      ...(signal && { signal }),
    });
    return { lines: answer.result, nextCursor: nextCursorOf(answer.attributes) };
  }

  /** A trial's lines (its backlog, or its last `tail`), then each line as it is written; returns once the trial has ended. */
  async *followLogs(trialId: number, options: FollowOptions = {}): AsyncGenerator<LogLine & { id: string }, void> {
    const { after, tail, executor, rank, stream, signal } = options;
    const response = await this.#transport.open({
      method: 'GET',
      path: path`/trials/${String(trialId)}/logs`,
      query: { follow: true, after, tail, executor, rank, stream },
      timeoutMs: 0,
      ...(signal && { signal }),
    });
    yield* readFollowedLines(response.body!, trialId, signal);
  }
}
