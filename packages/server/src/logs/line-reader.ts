/**
 * Reading log files: whole, the first N lines, or the last N lines by seeking from the end (never a scan of a
 * large file). Each line keeps its byte offset so it can be given the time of the chunk that contained it.
 */
import { open, readFile, stat } from 'node:fs/promises';
import { indexPath, streamPath, type Stream } from './layout.js';

export interface RawLine {
  offset: number;
  text: string;
}

const CHUNK = 64 * 1024;

export async function readAllLines(path: string): Promise<RawLine[]> {
  let buffer: Buffer;
  try {
    buffer = await readFile(path);
  } catch {
    return [];
  }
  return splitLines(buffer, 0);
}

export async function headLines(path: string, n: number): Promise<RawLine[]> {
  if (n <= 0) return [];
  const handle = await open(path, 'r').catch(() => undefined);
  if (!handle) return [];
  try {
    const parts: Buffer[] = [];
    let position = 0;
    let newlines = 0;
    for (;;) {
      const buffer = Buffer.alloc(CHUNK);
      const { bytesRead } = await handle.read(buffer, 0, CHUNK, position);
      if (bytesRead === 0) break;
      const chunk = buffer.subarray(0, bytesRead);
      parts.push(chunk);
      position += bytesRead;
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) newlines++;
      if (newlines >= n) break;
    }
    return splitLines(Buffer.concat(parts), 0).slice(0, n);
  } finally {
    await handle.close();
  }
}

export async function tailLines(path: string, n: number): Promise<RawLine[]> {
  if (n <= 0) return [];
  const handle = await open(path, 'r').catch(() => undefined);
  if (!handle) return [];
  try {
    const { size } = await handle.stat();
    const parts: Buffer[] = [];
    let position = size;
    let newlines = 0;
    // One more newline than lines wanted marks the start of the first of them.
    while (position > 0 && newlines <= n) {
      const length = Math.min(CHUNK, position);
      position -= length;
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, position);
      parts.unshift(buffer);
      for (let i = buffer.indexOf(10); i !== -1; i = buffer.indexOf(10, i + 1)) newlines++;
    }
    const lines = splitLines(Buffer.concat(parts), position);
    // The first line may be cut off by where reading started; drop it unless reading reached the file's start.
    const whole = position === 0 ? lines : lines.slice(1);
    return whole.slice(-n);
  } finally {
    await handle.close();
  }
}

/** Splits on '\n'; a final line without a newline is kept (the process may not have finished it yet). */
export function splitLines(buffer: Buffer, baseOffset: number): RawLine[] {
  const lines: RawLine[] = [];
  let start = 0;
  for (let i = buffer.indexOf(10); i !== -1; i = buffer.indexOf(10, start)) {
    lines.push({ offset: baseOffset + start, text: buffer.toString('utf8', start, i) });
    start = i + 1;
  }
  if (start < buffer.length) lines.push({ offset: baseOffset + start, text: buffer.toString('utf8', start) });
  return lines;
}

/** The chunk index of a stream: sorted end offsets and the time each chunk was observed. */
export interface ChunkIndex {
  ends: number[];
  times: number[];
  /** Time for bytes not indexed yet (written while nobody watched): the file's modification time. */
  fallback: number;
}

export async function readChunkIndex(executorDir: string, stream: Stream): Promise<ChunkIndex> {
  const ends: number[] = [];
  const times: number[] = [];
  const text = await readFile(indexPath(executorDir, stream), 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const space = line.indexOf(' ');
    if (space > 0) {
      ends.push(Number(line.slice(0, space)));
      times.push(Number(line.slice(space + 1)));
    }
  }
  const fallback = await stat(streamPath(executorDir, stream)).then((s) => s.mtimeMs, () => Date.now());
  return { ends, times, fallback: Math.round(fallback) };
}

/** The time of the chunk holding the byte at `offset` (binary search over end offsets). */
export function timeAt(index: ChunkIndex, offset: number): number {
  let lo = 0;
  let hi = index.ends.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (index.ends[mid]! > offset) hi = mid;
    else lo = mid + 1;
  }
  return lo < index.ends.length ? index.times[lo]! : index.fallback;
}
