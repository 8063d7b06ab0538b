import { formatTime, ValidationError, type LogLine } from '@periscope/core';
import { availableParallelism } from 'node:os';
import { STREAMS, type DataLayout, type Stream } from './layout.js';
import { chunkTimes } from './chunk-index.js';
import { headLines, lineEnd, linesFrom, tailLines, type RawLine } from './line-reader.js';
import { Gate } from '../gate.js';
import type { LogTailer, TailedLines } from './tailer.js';

export type { LogLine };

export interface LogSource {
  experimentId: string;
  executor: string;
  rank: number;
}

export interface LogQuery {
  stream?: Stream;
  head?: number;
  tail?: number;
  /** Without head or tail: most lines in a page (default DEFAULT_PAGE_LINES). */
  limit?: number;
  /** Without head or tail: the page after the one whose `next` this is. */
  after?: string;
}

/** A page of lines and the cursor of the next page (null once every file has been read to its end). */
export interface LogPage {
  lines: LogLine[];
  next: string | null;
}

/** Lines in a page of a plain read (no head, no tail) unless the request says fewer or more. */
export const DEFAULT_PAGE_LINES = 10_000;
/** Most bytes of lines a page reads from one file (a page of very long lines stops sooner). */
const PAGE_BYTES = 16 * 1024 * 1024;
/** Submarine's podLog is the last this many lines of an executor (stdout and stderr merged)… */
export const POD_LOG_LINES = 250_000;
/** …and of each stream no more than about this many bytes from its end. */
const POD_LOG_BYTES = 8 * 1024 * 1024;

interface Timed {
  source: LogSource;
  stream: Stream;
  time: number;
  line: RawLine;
  /** The offset just past the line. */
  end: number;
}

/** Per executor stream (`executor/stream`), a byte offset in its file. */
type Offsets = Record<string, number>;

/** A followed line and the cursor just past it. */
export interface FollowedLine {
  line: LogLine;
  cursor: string;
}

/** Lines a follower reads at a time. */
const FOLLOW_BATCH_LINES = 1_000;
/** How often a follower with nothing new checks whether its trial has ended (a write or its end wakes it sooner). */
const FOLLOW_CHECK_MS = 250;

const LEVEL = /\b(TRACE|DEBUG|INFO|WARN|WARNING|ERROR|CRITICAL|FATAL)\b/i;

/** A log level named near the start of a line, as most logging libraries print it. */
export function parseLevel(text: string): string | null {
  const m = LEVEL.exec(text.length > 200 ? text.slice(0, 200) : text);
  if (!m) return null;
  const level = m[1]!.toLowerCase();
  return level === 'warn' ? 'warning' : level === 'fatal' ? 'critical' : level;
}

/**
 * Subscribes a follower to the end of what it follows (its trial finishing), so it ends as soon as that is
 * written rather than at its next check; answers the unsubscribe.
 */
export type Endings = (ended: () => void) => () => void;

/** Reads executors' logs (files, not rows) with head/tail and stream filters, and feeds followers. */
export class LogService {
  /** Follows in progress (each open follow stream is one). */
  followers = 0;
  private readonly reads = new Gate(Math.max(2, availableParallelism()));

  constructor(
    private readonly layout: DataLayout,
    private readonly tailer: LogTailer,
    private readonly followCheckMs = FOLLOW_CHECK_MS,
  ) {}

  /**
   * The first N lines (head), the last N (tail), or else one page: up to `limit` lines in time order from
   * where the `after` cursor left each file, with the cursor of the next page. Only the lines a page needs are
   * read, so a log of any size answers in bounded time and memory.
   */
  async lines(sources: LogSource[], query: LogQuery = {}): Promise<LogPage> {
    const streams = query.stream ? [query.stream] : STREAMS;
    const from = decodeCursor(query.after);
    return this.reads.run(async () => {
      if (query.tail !== undefined || query.head !== undefined) return { lines: (await this.headOrTail(sources, streams, query)).map(present), next: null };
      const page = await this.page(sources, streams, from, query.limit ?? DEFAULT_PAGE_LINES, false);
      return { lines: page.lines.map(present), next: page.more ? encodeCursor(page.next) : null };
    });
  }

  /**
   * Follows the executors' logs: the backlog the query asks for (all of it, its head, or its tail), then lines
   * as they are written, until `ended()` says no more will come or `signal` aborts. Each line comes with the
   * cursor just past it (the `after` of a page, and the SSE event id), so a follower that comes back with it
   * misses nothing and gets nothing twice; `query.after` is such a cursor. Files are read a batch at a time as
   * the consumer asks for lines, so a slow consumer holds the reading back instead of filling memory.
   */
  follow(sources: LogSource[], query: LogQuery, ended: () => Promise<boolean>, signal: AbortSignal, endings?: Endings): AsyncGenerator<FollowedLine> {
    // A bad cursor is refused now, before anything is streamed.
    return this.followFrom(sources, query, decodeCursor(query.after), ended, signal, endings);
  }

  private async *followFrom(sources: LogSource[], query: LogQuery, from: Offsets, ended: () => Promise<boolean>, signal: AbortSignal, endings?: Endings): AsyncGenerator<FollowedLine> {
    this.followers++;
    try {
      yield* this.followLines(sources, query, from, ended, signal, endings);
    } finally {
      this.followers--;
    }
  }

  private async *followLines(sources: LogSource[], query: LogQuery, from: Offsets, ended: () => Promise<boolean>, signal: AbortSignal, endings?: Endings): AsyncGenerator<FollowedLine> {
    const streams = query.stream ? [query.stream] : STREAMS;
    let offsets = from;
    if (query.after === undefined && (query.head !== undefined || query.tail !== undefined)) {
      // Read the ends first: a line written meanwhile is after them, so it is followed, not lost.
      offsets = await this.wholeEnds(sources, streams);
      const backlog = await this.headOrTail(sources, streams, query, offsets);
      for (const t of backlog) yield { line: present(t), cursor: encodeCursor(offsets) };
    }
    const batch = query.limit ?? FOLLOW_BATCH_LINES;
    let last = false;
    while (!signal.aborted) {
      // The wait is armed before the end is asked and the files are read: an end or a write that comes in
      // between wakes it, instead of being missed until the next check.
      const wake = last ? undefined : this.written(sources, signal, endings);
      try {
        // Whether it has ended is asked before reading: whatever was written before the end is then read below.
        if (!last) last = await ended();
        const page = await this.page(sources, streams, offsets, batch, !last);
        for (const t of page.lines) {
          offsets = { ...offsets, [keyOf(t.source, t.stream)]: t.end };
          yield { line: present(t), cursor: encodeCursor(offsets) };
          if (signal.aborted) return;
        }
        offsets = page.next;
        if (page.more) continue;
        if (last) return;
        await wake?.woken;
      } finally {
        wake?.cancel();
      }
    }
  }
  /**
   * Submarine's podLog: one executor's lines, stdout and stderr interleaved in time order; the last
   * POD_LOG_LINES of them (and of each stream no more than about POD_LOG_BYTES), so a huge log still answers.
   */
  async podLog(source: LogSource): Promise<string[]> {
    const parts = await Promise.all(STREAMS.map((stream) => this.read(source, stream, { tail: POD_LOG_LINES }, POD_LOG_BYTES)));
    return parts
      .flat()
      .sort(byTime)
      .slice(-POD_LOG_LINES)
      .map((t) => t.line.text);
  }

  /**
   * A wait that is `woken` when one of the executors' logs grows, when `endings` tells of an end, after
   * FOLLOW_CHECK_MS at most, or when `signal` aborts; `cancel` stops listening (harmless once woken).
   */
  private written(sources: LogSource[], signal: AbortSignal, endings?: Endings): { woken: Promise<void>; cancel: () => void } {
    const names = new Set(sources.map((s) => s.executor));
    let cancel = () => {};
    const woken = new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.tailer.off('lines', onLines);
        signal.removeEventListener('abort', done);
        unsubscribe?.();
        resolve();
      };
      const unsubscribe = endings?.(done);
      const onLines = (chunk: TailedLines) => names.has(chunk.executor) && done();
      const timer = setTimeout(done, this.followCheckMs);
      this.tailer.on('lines', onLines);
      signal.addEventListener('abort', done, { once: true });
      cancel = done;
    });
    return { woken, cancel };
  }

  isLive(executor: string): boolean {
    return this.tailer.isWatching(executor);
  }

  /** The first or last N lines in time order; with `ends`, only lines that end at or before them. */
  private async headOrTail(sources: LogSource[], streams: readonly Stream[], query: LogQuery, ends?: Offsets): Promise<Timed[]> {
    // Past the ends, a file may have a line still being written: one more line read makes up for it.
    const read = ends && query.tail !== undefined ? { tail: query.tail + 1 } : query;
    const parts = await Promise.all(sources.flatMap((source) => streams.map((stream) => this.read(source, stream, read))));
    const before = (t: Timed) => !ends || t.end <= (ends[keyOf(t.source, t.stream)] ?? 0);
    const merged = parts.flat().filter(before).sort(byTime);
    return query.tail !== undefined ? merged.slice(-query.tail || merged.length) : merged.slice(0, query.head);
  }

  /** Per file, the offset just past its last complete line as of now (a last line still being written is not). */
  private async wholeEnds(sources: LogSource[], streams: readonly Stream[]): Promise<Offsets> {
    const ends = await Promise.all(
      sources.flatMap((source) =>
        streams.map(async (stream) => {
          const [last] = await tailLines(`${this.layout.executorLogs(source.experimentId, source.executor)}/${stream}`, 1);
          const end = !last ? 0 : last.partial ? last.offset : lineEnd(last);
          return [keyOf(source, stream), end] as const;
        }),
      ),
    );
    return Object.fromEntries(ends);
  }

  /**
   * Up to `limit` lines in time order from `from`, the offsets the next page starts at, and whether any file
   * has more. With `whole`, a last line still being written (no newline yet) waits for its newline.
   */
  private async page(sources: LogSource[], streams: readonly Stream[], from: Offsets, limit: number, whole: boolean): Promise<{ lines: Timed[]; next: Offsets; more: boolean }> {
    const files = await Promise.all(
      sources.flatMap((source) =>
        streams.map(async (stream) => {
          const key = keyOf(source, stream);
          const dir = this.layout.executorLogs(source.experimentId, source.executor);
          const read = await linesFrom(`${dir}/${stream}`, from[key] ?? 0, limit, PAGE_BYTES, !whole);
          const times = await chunkTimes(dir, stream, read.lines.map((line) => line.offset));
          const timed = read.lines.map((line, i): Timed => ({ source, stream, time: times[i]!, line, end: read.ends[i]! }));
          return { key, start: from[key] ?? 0, timed, end: read.end };
        }),
      ),
    );
    // A file with more lines than were read bounds the page: a line of another file that comes later in time
    // than its last line read waits for the next page, so pages join up in time order.
    const bounds = files.filter((f) => !f.end && f.timed.length > 0).map((f) => f.timed.at(-1)!);
    const bound = bounds.sort(byTime)[0];
    const merged = files.flatMap((f) => f.timed).sort(byTime);
    const page = (bound ? merged.filter((t) => byTime(t, bound) <= 0) : merged).slice(0, limit);
    const next: Offsets = { ...from };
    let more = false;
    for (const f of files) {
      const taken = page.filter((t) => keyOf(t.source, t.stream) === f.key);
      next[f.key] = taken.at(-1)?.end ?? f.start;
      if (!f.end || taken.length < f.timed.length) more = true;
    }
    return { lines: page, next, more };
  }

  private async read(source: LogSource, stream: Stream, query: { head?: number; tail?: number }, maxBytes?: number): Promise<Timed[]> {
    const dir = this.layout.executorLogs(source.experimentId, source.executor);
    const path = `${dir}/${stream}`;
    const raw = query.tail !== undefined ? await tailLines(path, query.tail, maxBytes) : await headLines(path, query.head ?? 0);
    if (raw.length === 0) return [];
    const times = await chunkTimes(dir, stream, raw.map((line) => line.offset));
    return raw.map((line, i) => ({ source, stream, time: times[i]!, line, end: lineEnd(line) }));
  }
}

/** A page cursor: per executor stream, the byte offset the next page starts at (base64url JSON). */
function encodeCursor(offsets: Offsets): string {
  return Buffer.from(JSON.stringify(offsets)).toString('base64url');
}

function decodeCursor(cursor: string | undefined): Offsets {
  if (cursor === undefined || cursor === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const valid = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && Object.values(parsed).every((v) => Number.isSafeInteger(v) && (v as number) >= 0);
  if (!valid) throw new ValidationError(`after: "${cursor.length > 80 ? `${cursor.slice(0, 80)}…` : cursor}" is not a cursor this server gave (use attributes.nextCursor of the previous page)`, 'after');
  return parsed as Offsets;
}

function keyOf(source: LogSource, stream: Stream): string {
  return `${source.executor}/${stream}`;
}

function byTime(a: Timed, b: Timed): number {
  return a.time - b.time || a.source.rank - b.source.rank || (a.stream === b.stream ? a.line.offset - b.line.offset : a.stream === 'stdout' ? -1 : 1);
}

function present(t: Timed): LogLine {
  return { executor: t.source.executor, rank: t.source.rank, stream: t.stream, time: formatTime(t.time)!, level: parseLevel(t.line.text), text: t.line.text, offset: t.line.offset };
}
