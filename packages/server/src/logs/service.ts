import { formatTime, type LogLine } from '@periscope/core';
import { STREAMS, type DataLayout, type Stream } from './layout.js';
import { headLines, readAllLines, readChunkIndex, tailLines, timeAt, type RawLine } from './line-reader.js';
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
}

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

  async lines(sources: LogSource[], query: LogQuery = {}): Promise<LogLine[]> {
    const streams = query.stream ? [query.stream] : STREAMS;
    const parts = await Promise.all(sources.flatMap((source) => streams.map((stream) => this.read(source, stream, query))));
    const merged = parts.flat().sort(byTime);
    const picked = query.tail !== undefined ? merged.slice(-query.tail || merged.length) : query.head !== undefined ? merged.slice(0, query.head) : merged;
    return picked.map(present);
  }

  /** Submarine's podLog: one executor's lines, stdout and stderr interleaved in time order. */
  async podLog(source: LogSource): Promise<string[]> {
    const parts = await Promise.all(STREAMS.map((stream) => this.read(source, stream, {})));
    return parts.flat().sort(byTime).map((t) => t.line.text);
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

  private async read(source: LogSource, stream: Stream, query: LogQuery): Promise<Timed[]> {
    const dir = this.layout.executorLogs(source.experimentId, source.executor);
    const path = `${dir}/${stream}`;
    const raw = query.tail !== undefined ? await tailLines(path, query.tail) : query.head !== undefined ? await headLines(path, query.head) : await readAllLines(path);
    if (raw.length === 0) return [];
    const index = await readChunkIndex(dir, stream);
    return raw.map((line) => ({ source, stream, time: timeAt(index, line.offset), line }));
  }
}

function byTime(a: Timed, b: Timed): number {
  return a.time - b.time || a.source.rank - b.source.rank || (a.stream === b.stream ? a.line.offset - b.line.offset : a.stream === 'stdout' ? -1 : 1);
}

function present(t: Timed): LogLine {
  return { executor: t.source.executor, rank: t.source.rank, stream: t.stream, time: formatTime(t.time)!, level: parseLevel(t.line.text), text: t.line.text, offset: t.line.offset };
}
