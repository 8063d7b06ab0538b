/**
 * Reading log files: a page of lines from an offset, the first N lines, or the last N lines by seeking from the
 * end (never a whole large file in memory). Each line keeps its byte offset so it can be given the time of the chunk that contained it.
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

export interface RawLine {
  offset: number;
  text: string;
  /** The file's last line has no newline yet: the process may still be writing it. */
  partial?: true;
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

/** The offset just past a line: its newline included, unless it is a last line still without one. */
export function lineEnd(line: RawLine): number {
  return line.offset + Buffer.byteLength(line.text) + (line.partial ? 0 : 1);
}

export interface LinesFrom {
  lines: RawLine[];
  /** For each line, the offset just past it (its newline included). */
  ends: number[];
  /** The offset just past the last line returned: where the next read starts. */
  next: number;
  /** True when the read reached the end of the file (nothing is left after `next`, as of now). */
  end: boolean;
}

/** Longest line returned whole; a longer one comes back in pieces of this size, each its own line. */
export const MAX_LINE_BYTES = 1024 * 1024;

/**
 * Up to `maxLines` lines from byte `offset`, reading 64 KiB at a time and stopping once that many lines (or
 * `maxBytes` of them, at least one line) are read: never the whole file. A last line without its newline is
 * returned (marked partial) only at the end of the file, and only with `partialAtEnd`: a process still
 * writing it would otherwise have its line cut in two.
 */
export async function linesFrom(path: string, offset: number, maxLines: number, maxBytes: number, partialAtEnd = true): Promise<LinesFrom> {
  const handle = await openRegular(path).catch(() => undefined);
  if (!handle) return { lines: [], ends: [], next: offset, end: true };
  const lines: RawLine[] = [];
  const ends: number[] = [];
  let next = offset;
  let bytes = 0;
  try {
    let pending: Buffer = Buffer.alloc(0);
    let position = offset;
    const buffer = Buffer.alloc(CHUNK);
    while (lines.length < maxLines && (lines.length === 0 || bytes < maxBytes)) {
      const { bytesRead } = await handle.read(buffer, 0, CHUNK, position);
      if (bytesRead === 0) {
        if (pending.length > 0 && partialAtEnd) {
          lines.push({ offset: next, text: pending.toString('utf8'), partial: true });
          next += pending.length;
          ends.push(next);
        }
        return { lines, ends, next, end: true };
      }
      position += bytesRead;
      const chunk = pending.length > 0 ? Buffer.concat([pending, buffer.subarray(0, bytesRead)]) : Buffer.from(buffer.subarray(0, bytesRead));
      let start = 0;
      for (let i = chunk.indexOf(10); i !== -1 && lines.length < maxLines && (lines.length === 0 || bytes < maxBytes); i = chunk.indexOf(10, start)) {
        lines.push({ offset: next, text: chunk.toString('utf8', start, i) });
        bytes += i + 1 - start;
        next += i + 1 - start;
        ends.push(next);
        start = i + 1;
      }
      pending = chunk.subarray(start);
      // A line too long to hold: its first MAX_LINE_BYTES go out as a line of their own.
      while (pending.length >= MAX_LINE_BYTES && lines.length < maxLines && (lines.length === 0 || bytes < maxBytes) && pending.indexOf(10) === -1) {
        lines.push({ offset: next, text: pending.toString('utf8', 0, MAX_LINE_BYTES) });
        bytes += MAX_LINE_BYTES;
        next += MAX_LINE_BYTES;
        ends.push(next);
        pending = pending.subarray(MAX_LINE_BYTES);
      }
    }
    return { lines, ends, next, end: false };
  } catch {
    return { lines, ends, next, end: true };
  } finally {
    await handle.close().catch(() => undefined);
  }
}

export async function headLines(path: string, n: number): Promise<RawLine[]> {
  if (n <= 0) return [];
  return (await linesFrom(path, 0, n, Number.MAX_SAFE_INTEGER)).lines;
}

/** The last `n` lines; with `maxBytes`, no more than about that many bytes are read back from the end. */
export async function tailLines(path: string, n: number, maxBytes = Number.MAX_SAFE_INTEGER): Promise<RawLine[]> {
  if (n <= 0) return [];
  const handle = await openRegular(path).catch(() => undefined);
  if (!handle) return [];
  try {
    const { size } = await handle.stat();
    const parts: Buffer[] = [];
    let position = size;
    let newlines = 0;
    // One more newline than lines wanted marks the start of the first of them.
    while (position > 0 && newlines <= n && size - position < maxBytes) {
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
  if (start < buffer.length) lines.push({ offset: baseOffset + start, text: buffer.toString('utf8', start), partial: true });
  return lines;
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
