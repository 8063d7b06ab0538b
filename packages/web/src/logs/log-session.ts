/**
 * What one log view reads, for one trial and filter: a page from the head or the tail, the next page as the
 * reader scrolls down, and the live stream while following. A log may hold millions of lines: it is never
 * fetched whole, and at most MAX_LINES stay in memory.
 */
import type { LogFilter, LogLine } from '@periscope/sdk';
import { dashboard, errorMessage, handledUnauthorized, isAbort } from '../api';
import { LogBuffer } from './log-buffer';

const PAGE_LINES = 1000;
/** Live lines arrive one by one: the view redraws at most this often. */
const FLUSH_MS = 100;
const RECONNECT_MS = 1000;

export type LogStart = 'head' | 'tail';

export interface LogSessionState {
  /** Bumped whenever the lines or the flags below change. */
  version: number;
  loading: boolean;
  error: string | undefined;
  /** The live stream is open. */
  following: boolean;
  /** More lines can be paged in below the last one held (not following). */
  hasMore: boolean;
  /** Where the window started: the view scrolls to the bottom after a tail start. */
  start: LogStart;
}

export class LogSession {
  readonly buffer = new LogBuffer();
  state: LogSessionState = { version: 0, loading: false, error: undefined, following: false, hasMore: false, start: 'head' };
  /** Resumes after the last line held (a page's `nextCursor` or a followed line's `id`). */
  #cursor: string | null = null;
  readonly #abort = new AbortController();
  #follow: AbortController | undefined;
  #paging = false;
  #pending: LogLine[] = [];
  /** The pending lines start with a backlog that may repeat lines held. */
  #pendingOverlaps = false;
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #listeners = new Set<() => void>();

  constructor(
    readonly trialId: number,
    readonly filter: LogFilter,
  ) {}

  subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  getState = (): LogSessionState => this.state;

  /** Loads the first page (head or tail), then follows when asked. */
  async open(start: LogStart, follow: boolean): Promise<void> {
    this.#update({ loading: true, error: undefined, start });
    try {
      const page = await dashboard().logPage(this.trialId, { ...this.filter, ...(start === 'tail' ? { tail: PAGE_LINES } : { limit: PAGE_LINES }), signal: this.#abort.signal });
      this.buffer.append(page.lines);
      this.#cursor = page.nextCursor;
      // A tail page ends at the end of the log, whatever its cursor says.
      this.#update({ loading: false, hasMore: start === 'head' && page.nextCursor !== null });
      if (follow) this.setFollow(true);
    } catch (error) {
      this.#failed(error);
    }
  }

  /** The next page below the last line held, when the reader nears the bottom. */
  async loadMore(): Promise<void> {
    if (this.#paging || this.state.following || !this.state.hasMore || this.#cursor === null) return;
    this.#paging = true;
    try {
      const page = await dashboard().logPage(this.trialId, { ...this.filter, after: this.#cursor, limit: PAGE_LINES, signal: this.#abort.signal });
      this.buffer.append(page.lines);
      if (page.nextCursor !== null) this.#cursor = page.nextCursor;
      this.#update({ hasMore: page.nextCursor !== null });
    } catch (error) {
      this.#failed(error);
    } finally {
      this.#paging = false;
    }
  }

  /** Opens or closes the live stream; it resumes after the last line held. */
  setFollow(on: boolean): void {
    if (!on) {
      this.#follow?.abort();
      this.#follow = undefined;
      this.#update({ following: false });
      return;
    }
    if (this.#follow) return;
    const follow = new AbortController();
    this.#follow = follow;
    this.#update({ following: true, hasMore: false });
    void this.#followLoop(follow);
  }

  close(): void {
    this.#abort.abort();
    this.#follow?.abort();
    clearTimeout(this.#flushTimer);
    this.#listeners.clear();
  }

  async #followLoop(follow: AbortController): Promise<void> {
    const signal = AbortSignal.any([this.#abort.signal, follow.signal]);
    while (!signal.aborted) {
      // Without a cursor, the stream starts with the last page again; lines held already are skipped.
      const after = this.#cursor;
      let overlap = after === null ? PAGE_LINES : 0;
      try {
        const lines = dashboard().followLogs(this.trialId, { ...this.filter, ...(after !== null ? { after } : { tail: PAGE_LINES }), signal });
        for await (const line of lines) {
          const { id, ...logLine } = line;
          this.#cursor = id;
          this.#pending.push(logLine);
          if (overlap > 0) {
            overlap--;
            this.#pendingOverlaps = true;
          }
          this.#scheduleFlush();
        }
        // The trial ended and its log is complete.
        this.#flush();
        if (this.#follow === follow) this.#follow = undefined;
        this.#update({ following: false });
        return;
      } catch (error) {
        if (signal.aborted || isAbort(error)) return;
        if (handledUnauthorized(error)) return;
        this.#flush();
        this.#update({ error: `Log stream interrupted (${errorMessage(error)}); reconnecting…` });
        await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
      }
    }
  }

  #scheduleFlush(): void {
    this.#flushTimer ??= setTimeout(() => this.#flush(), FLUSH_MS);
  }

  #flush(): void {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    if (this.#pending.length === 0) return;
    const batch = this.#pending;
    const overlapping = this.#pendingOverlaps;
    this.#pending = [];
    this.#pendingOverlaps = false;
    if (this.buffer.append(batch, overlapping) > 0 || this.state.error) this.#update({ error: undefined });
  }

  #failed(error: unknown): void {
    if (this.#abort.signal.aborted || isAbort(error) || handledUnauthorized(error)) return;
    this.#update({ loading: false, error: errorMessage(error) });
  }

  #update(changes: Partial<Omit<LogSessionState, 'version'>>): void {
    if (this.#abort.signal.aborted) return;
    this.state = { ...this.state, ...changes, version: this.state.version + 1 };
    for (const listener of this.#listeners) listener();
  }
}
