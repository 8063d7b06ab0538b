/**
 * Reading log files: whole, the first N lines, or the last N lines by seeking from the end (never a scan of a
 * large file). Each line keeps its byte offset so it can be given the time of the chunk that contained it.
 */
import { constants } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { indexPath, legacyIndexPath, streamPath, type Stream } from './layout.js';

export interface RawLine {
  offset: number;
  text: string;
}

const CHUNK = 64 * 1024;
/** A chunk index larger than this is not one the server wrote (one short line per chunk): it is ignored. */
const MAX_INDEX_BYTES = 512 * 1024 * 1024;

/**
 * Opens a file an executor may have tampered with (its log dir is writable by it): a symlink in the last
 * component is refused (ELOOP), a FIFO does not block the thread pool (O_NONBLOCK), and anything but a regular
 * file (a directory, a device) is refused with ENOTFILE. Errors keep their errno `code`.
 */
export async function openRegular(path: string, flags: number = constants.O_RDONLY): Promise<FileHandle> {
  const handle = await open(path, flags | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o600);
  let regular = false;
  try {
    regular = (await handle.stat()).isFile();
  } finally {
    if (!regular) await handle.close().catch(() => undefined);
  }
  if (!regular) throw Object.assign(new Error(`${path} is not a regular file`), { code: 'ENOTFILE' });
  return handle;
}

export async function readAllLines(path: string): Promise<RawLine[]> {
  const handle = await openRegular(path).catch(() => undefined);
  if (!handle) return [];
  try {
    return splitLines(await handle.readFile(), 0);
  } catch {
    return [];
  } finally {
    await handle.close().catch(() => undefined);
  }
}

export async function headLines(path: string, n: number): Promise<RawLine[]> {
  if (n <= 0) return [];
  const handle = await openRegular(path).catch(() => undefined);
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
  const handle = await openRegular(path).catch(() => undefined);
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
  const text = (await readIndexText(indexPath(executorDir, stream))) ?? (await readIndexText(legacyIndexPath(executorDir, stream))) ?? '';
  const { ends, times } = parseChunkIndex(text);
  const fallback = await stat(streamPath(executorDir, stream)).then((s) => s.mtimeMs, () => Date.now());
  return { ends, times, fallback: Math.round(fallback) };
}

/**
 * An index file's text; undefined when there is none (look elsewhere), '' when what is there is not an index
 * (a directory, a symlink, a huge file, unreadable): lines then get the fallback time.
 */
export async function readIndexText(path: string): Promise<string | undefined> {
  let handle: FileHandle;
  try {
    handle = await openRegular(path);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : '';
  }
  try {
    const { size } = await handle.stat();
    return size > MAX_INDEX_BYTES ? '' : await handle.readFile('utf8');
  } catch {
    return '';
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** The well-formed entries of an index, in order: garbage lines and entries going backwards are skipped. */
export function parseChunkIndex(text: string): { ends: number[]; times: number[] } {
  const ends: number[] = [];
  const times: number[] = [];
  for (const line of text.split('\n')) {
    const m = INDEX_LINE.exec(line);
    if (!m) continue;
    const end = Number(m[1]);
    if (ends.length > 0 && end < ends.at(-1)!) continue;
    ends.push(end);
    times.push(Number(m[2]));
  }
  return { ends, times };
}

const INDEX_LINE = /^(\d{1,15}) (\d{1,15})$/;

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
