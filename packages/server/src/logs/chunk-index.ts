/**
 * Reading a stream's chunk index (one `endOffset millis` line per chunk the tailer observed) without reading all
 * of it. A slow writer leaves one entry per line, so a job that prints a line a second for a week leaves 600k
 * entries; a page of lines must cost what the page costs, not what the history costs. The entries are sorted by
 * end offset, so the entry holding a byte is found by binary search over the file's byte positions (as look(1)
 * searches a sorted text file): about log2(size / 2 KiB) reads of a few hundred bytes, then a forward scan that
 * touches only the entries of the lines asked for.
 *
 * The file lives in the server's tree but an executor running as the server's user could still reach it, so
 * whatever is in it is tolerated: lines that are not entries are skipped, entries going backwards are ignored
 * by the scan, and an index that cannot be read gives every line the fallback time (the log file's mtime).
 */
import { stat, type FileHandle } from 'node:fs/promises';
import { indexPath, legacyIndexPath, streamPath, type Stream } from './layout.js';
import { openRegular } from './line-reader.js';

const INDEX_LINE = /^(\d{1,15}) (\d{1,15})$/;
/** An entry is at most 31 bytes; a longer line is garbage and is skipped without being held. */
const MAX_ENTRY_BYTES = 64;
/** Below this many bytes left to search, a forward scan is cheaper than more probes. */
const SCAN_BELOW = 2048;
const PROBE_BYTES = 256;
const SCAN_BYTES = 64 * 1024;

interface Entry {
  end: number;
  time: number;
  /** Where its line starts and the position just past its newline. */
  start: number;
  next: number;
}

/**
 * The time of the chunk holding each byte offset (the first entry ending after it), or the fallback for bytes
 * past the last entry. Offsets in ascending order cost one search and one scan; out of order, a search each.
 */
export async function chunkTimes(executorDir: string, stream: Stream, offsets: readonly number[]): Promise<number[]> {
  if (offsets.length === 0) return [];
  const fallback = Math.round(await stat(streamPath(executorDir, stream)).then((s) => s.mtimeMs, () => Date.now()));
  const handle = await openIndex(executorDir, stream);
  if (!handle) return offsets.map(() => fallback);
  try {
    const reader = new IndexReader(handle, (await handle.stat()).size);
    const times: number[] = [];
    for (const offset of offsets) times.push((await reader.entryAbove(offset))?.time ?? fallback);
    return times;
  } catch {
    return offsets.map(() => fallback);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/**
 * The end offset of an index's last well-formed entry (where indexing resumes), and whether the file ends
 * mid-line (the next entry must start a line). Read backwards from the end, a block at a time.
 */
export async function lastIndexed(handle: FileHandle): Promise<{ end: number; unterminated: boolean }> {
  const { size } = await handle.stat();
  if (size === 0) return { end: 0, unterminated: false };
  const last = Buffer.alloc(1);
  await handle.read(last, 0, 1, size - 1);
  const unterminated = last[0] !== 10;
  let position = size;
  let carry = Buffer.alloc(0);
  while (position > 0) {
    const length = Math.min(SCAN_BYTES, position);
    position -= length;
    const block = Buffer.alloc(length);
    await handle.read(block, 0, length, position);
    const text = Buffer.concat([block, carry.subarray(0, MAX_ENTRY_BYTES)]);
    const lines = text.toString('latin1').split('\n');
    // The first piece may be the tail of a line that starts in an earlier block: it is kept for the next round.
    for (let i = lines.length - 1; i >= (position === 0 ? 0 : 1); i--) {
      const m = INDEX_LINE.exec(lines[i]!);
      if (m) return { end: Number(m[1]), unterminated };
    }
    carry = Buffer.from(lines[0]!, 'latin1');
  }
  return { end: 0, unterminated };
}

async function openIndex(executorDir: string, stream: Stream): Promise<FileHandle | undefined> {
  try {
    return await openRegular(indexPath(executorDir, stream));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return undefined;
  }
  return openRegular(legacyIndexPath(executorDir, stream)).catch(() => undefined);
}

/** Reads entries from an open index; remembers where its forward scan is, so ascending lookups continue it. */
class IndexReader {
  private scan?: { entry: Entry | undefined; offset: number };
  private cached?: { start: number; bytes: Buffer };

  constructor(
    private readonly handle: FileHandle,
    private readonly size: number,
  ) {}

  /** The first entry whose end is past `offset`; undefined when none is. */
  async entryAbove(offset: number): Promise<Entry | undefined> {
    // The scan's entry is the first ending past the offset asked before, so for a later offset the answer is
    // that entry or after it; for an earlier one the search starts over.
    if (!this.scan || offset < this.scan.offset) this.scan = { entry: await this.entryFrom(await this.searchStart(offset)), offset };
    let entry = this.scan.entry;
    while (entry && entry.end <= offset) {
      let next = await this.entryFrom(entry.next);
      // An entry going backwards is damage, not a chunk: the scan steps over it.
      while (next && next.end < entry.end) next = await this.entryFrom(next.next);
      entry = next;
    }
    this.scan = { entry, offset };
    return entry;
  }

  /**
   * A line start at or before the first entry ending past `offset`, found by bisecting byte positions. It keeps
   * `lo` a line start that entry is not before, and `hi` a position whose next entry the sought one is not after.
   */
  private async searchStart(offset: number): Promise<number> {
    let lo = 0;
    let hi = this.size;
    while (hi - lo > SCAN_BELOW) {
      const mid = lo + Math.floor((hi - lo) / 2);
      const entry = await this.entryFrom(await this.lineStartAtOrAfter(mid), PROBE_BYTES);
      if (entry && entry.start < hi && entry.end <= offset) lo = entry.next;
      else hi = mid;
    }
    return lo;
  }

  /** The start of the first line at or after `position` (a line starts after each newline). */
  private async lineStartAtOrAfter(position: number): Promise<number> {
    if (position === 0) return 0;
    // A probe reads a few hundred bytes; past a long garbage line, whole scan blocks.
    for (let at = position - 1, blockBytes = PROBE_BYTES; at < this.size; blockBytes = SCAN_BYTES) {
      const block = await this.block(at, blockBytes);
      if (!block) break;
      const newline = block.bytes.indexOf(10, at - block.start);
      if (newline !== -1) return block.start + newline + 1;
      at = block.start + block.bytes.length;
    }
    return this.size;
  }

  /** The first well-formed entry on a line starting at or after the line start `position` (first read: `blockBytes`). */
  private async entryFrom(position: number, blockBytes = SCAN_BYTES): Promise<Entry | undefined> {
    let lineStart = position;
    let line = '';
    let garbage = false;
    for (let at = position; at < this.size; blockBytes = SCAN_BYTES) {
      const block = await this.block(at, blockBytes);
      if (!block) break;
      const { start, bytes } = block;
      let from = at - start;
      for (let nl = bytes.indexOf(10, from); nl !== -1; nl = bytes.indexOf(10, from)) {
        const entry = garbage ? undefined : parse(line + bytes.toString('latin1', from, nl), lineStart, start + nl + 1);
        if (entry) return entry;
        lineStart = start + nl + 1;
        line = '';
        garbage = false;
        from = nl + 1;
      }
      if (!garbage) line += bytes.toString('latin1', from);
      if (line.length > MAX_ENTRY_BYTES) {
        garbage = true;
        line = '';
      }
      at = start + bytes.length;
    }
    // A last line without its newline still counts when it is a whole entry (as it always has).
    return garbage ? undefined : parse(line, lineStart, this.size);
  }

  /** A block of the file holding `at`: the last one read when it does, else `blockBytes` read from `at`. */
  private async block(at: number, blockBytes: number): Promise<{ start: number; bytes: Buffer } | undefined> {
    const cached = this.cached;
    if (cached && at >= cached.start && at < cached.start + cached.bytes.length) return cached;
    const buffer = Buffer.alloc(blockBytes);
    const { bytesRead } = await this.handle.read(buffer, 0, blockBytes, at);
    if (bytesRead === 0) return undefined;
    this.cached = { start: at, bytes: buffer.subarray(0, bytesRead) };
    return this.cached;
  }
}

function parse(line: string, start: number, next: number): Entry | undefined {
  const m = INDEX_LINE.exec(line);
  return m ? { end: Number(m[1]), time: Number(m[2]), start, next } : undefined;
}
