import { formatTime, ValidationError, type LogLine } from '@periscope/core';
import { STREAMS, type DataLayout, type Stream } from './layout.js';
import { headLines, linesFrom, readChunkIndex, tailLines, timeAt, type RawLine } from './line-reader.js';
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
}

const LEVEL = /\b(TRACE|DEBUG|INFO|WARN|WARNING|ERROR|CRITICAL|FATAL)\b/i;

/** A log level named near the start of a line, as most logging libraries print it. */
export function parseLevel(text: string): string | null {
  const m = LEVEL.exec(text.length > 200 ? text.slice(0, 200) : text);
  if (!m) return null;
  const level = m[1]!.toLowerCase();
  return level === 'warn' ? 'warning' : level === 'fatal' ? 'critical' : level;
}

/** Reads executors' logs (files, not rows) with head/tail and stream filters, and feeds followers. */
export class LogService {
  constructor(
    private readonly layout: DataLayout,
    private readonly tailer: LogTailer,
  ) {}

  /**
   * The first N lines (head), the last N (tail), or else one page: up to `limit` lines in time order from
   * where the `after` cursor left each file, with the cursor of the next page. Only the lines a page needs are
   * read, so a log of any size answers in bounded time and memory.
   */
  async lines(sources: LogSource[], query: LogQuery = {}): Promise<LogPage> {
    const streams = query.stream ? [query.stream] : STREAMS;
    if (query.tail !== undefined || query.head !== undefined) {
      const parts = await Promise.all(sources.flatMap((source) => streams.map((stream) => this.read(source, stream, query))));
      const merged = parts.flat().sort(byTime);
      const picked = query.tail !== undefined ? merged.slice(-query.tail || merged.length) : merged.slice(0, query.head);
      return { lines: picked.map(present), next: null };
    }
    const limit = query.limit ?? DEFAULT_PAGE_LINES;
    const from = decodeCursor(query.after);
    const files = await Promise.all(
      sources.flatMap((source) =>
        streams.map(async (stream) => {
          const key = `${source.executor}/${stream}`;
          const dir = this.layout.executorLogs(source.experimentId, source.executor);
          const read = await linesFrom(`${dir}/${stream}`, from[key] ?? 0, limit, PAGE_BYTES);
          const index = read.lines.length > 0 ? await readChunkIndex(dir, stream) : undefined;
          const timed = read.lines.map((line): Timed => ({ source, stream, time: timeAt(index!, line.offset), line }));
          const ends = new Map(read.lines.map((line, i) => [line.offset, read.ends[i]!]));
          return { key, start: from[key] ?? 0, timed, ends, next: read.next, end: read.end };
        }),
      ),
    );
    // A file with more lines than were read bounds the page: a line of another file that comes later in time
    // than its last line read waits for the next page, so pages join up in time order.
    const bounds = files.filter((f) => !f.end && f.timed.length > 0).map((f) => f.timed.at(-1)!);
    const bound = bounds.sort(byTime)[0];
    const merged = files.flatMap((f) => f.timed).sort(byTime);
    const page = (bound ? merged.filter((t) => byTime(t, bound) <= 0) : merged).slice(0, limit);
    const next: Record<string, number> = { ...from };
    let more = false;
    for (const f of files) {
      const taken = page.filter((t) => `${t.source.executor}/${t.stream}` === f.key);
      const last = taken.at(-1);
      next[f.key] = last ? f.ends.get(last.line.offset)! : f.start;
      if (!f.end || taken.length < f.timed.length) more = true;
    }
    return { lines: page.map(present), next: more ? encodeCursor(next) : null };
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

  /** Calls `onLines` with every new line of the given executors until the returned function is called. */
  follow(sources: LogSource[], query: LogQuery, onLines: (lines: LogLine[]) => void): () => void {
    const byName = new Map(sources.map((s) => [s.executor, s]));
    const listener = (chunk: TailedLines) => {
      const source = byName.get(chunk.executor);
      if (!source || (query.stream && chunk.stream !== query.stream)) return;
      onLines(chunk.lines.map((line) => present({ source, stream: chunk.stream, time: chunk.time, line })));
    };
    this.tailer.on('lines', listener);
    return () => this.tailer.off('lines', listener);
  }

  isLive(executor: string): boolean {
    return this.tailer.isWatching(executor);
  }

  private async read(source: LogSource, stream: Stream, query: { head?: number; tail?: number }, maxBytes?: number): Promise<Timed[]> {
    const dir = this.layout.executorLogs(source.experimentId, source.executor);
    const path = `${dir}/${stream}`;
    const raw = query.tail !== undefined ? await tailLines(path, query.tail, maxBytes) : await headLines(path, query.head ?? 0);
    if (raw.length === 0) return [];
    const index = await readChunkIndex(dir, stream);
    return raw.map((line) => ({ source, stream, time: timeAt(index, line.offset), line }));
  }
}

/** A page cursor: per executor stream, the byte offset the next page starts at (base64url JSON). */
function encodeCursor(offsets: Record<string, number>): string {
  return Buffer.from(JSON.stringify(offsets)).toString('base64url');
}

function decodeCursor(cursor: string | undefined): Record<string, number> {
  if (cursor === undefined || cursor === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const valid = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && Object.values(parsed).every((v) => Number.isSafeInteger(v) && (v as number) >= 0);
  if (!valid) throw new ValidationError(`after: "${cursor.length > 80 ? `${cursor.slice(0, 80)}…` : cursor}" is not a cursor this server gave (use attributes.nextCursor of the previous page)`, 'after');
  return parsed as Record<string, number>;
}

function byTime(a: Timed, b: Timed): number {
  return a.time - b.time || a.source.rank - b.source.rank || (a.stream === b.stream ? a.line.offset - b.line.offset : a.stream === 'stdout' ? -1 : 1);
}

function present(t: Timed): LogLine {
  return { executor: t.source.executor, rank: t.source.rank, stream: t.stream, time: formatTime(t.time)!, level: parseLevel(t.line.text), text: t.line.text, offset: t.line.offset };
}
