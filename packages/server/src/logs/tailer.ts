/**
 * Watches the log files of running executors: each new chunk gets one index entry (its end offset and the
 * time it was seen), which is how every line gets a timestamp without per-line work in the executor, and new
 * complete lines are handed to followers as they arrive. inotify (fs.watch) wakes it at once; a slow poll
 * covers missed events.
 */
import { EventEmitter } from 'node:events';
import { watch, type FSWatcher } from 'node:fs';
import { appendFile, open, readFile } from 'node:fs/promises';
import { indexPath, STREAMS, streamPath, type Stream } from './layout.js';
import { splitLines, type RawLine } from './line-reader.js';

export interface TailedLines {
  executor: string;
  stream: Stream;
  time: number;
  lines: RawLine[];
}

interface TailerEvents {
  lines: [TailedLines];
  ended: [string];
}

interface Watched {
  executor: string;
  dir: string;
  offsets: Record<Stream, number>;
  watcher: FSWatcher | undefined;
  pumping: Promise<void> | undefined;
  dirty: boolean;
}

/** Bytes read per stream per pass; a fast writer is indexed in several passes rather than one huge buffer. */
const MAX_READ = 8 * 1024 * 1024;
const SAFETY_POLL_MS = 1000;

export class LogTailer extends EventEmitter<TailerEvents> {
  private readonly watched = new Map<string, Watched>();
  private readonly poller: NodeJS.Timeout;

  constructor() {
    super();
    this.setMaxListeners(0);
    this.poller = setInterval(() => {
      for (const w of this.watched.values()) this.kick(w);
    }, SAFETY_POLL_MS);
    this.poller.unref();
  }

  isWatching(executor: string): boolean {
    return this.watched.has(executor);
  }

  /** Starts indexing an executor's files, resuming after what an earlier server indexed. */
  async watch(executor: string, dir: string): Promise<void> {
    if (this.watched.has(executor)) return;
    const w: Watched = { executor, dir, offsets: { stdout: 0, stderr: 0 }, watcher: undefined, pumping: undefined, dirty: true };
    this.watched.set(executor, w);
    for (const stream of STREAMS) w.offsets[stream] = await lastIndexedOffset(dir, stream);
    try {
      w.watcher = watch(dir, { persistent: false }, () => this.kick(w));
      w.watcher.on('error', () => {}); // the safety poll carries on
    } catch {
      // No inotify for this dir: the safety poll carries on.
    }
    this.kick(w);
  }

  /** Indexes everything left (a last line without newline included) and stops watching. */
  async finish(executor: string): Promise<void> {
    const w = this.watched.get(executor);
    if (!w) return;
    w.watcher?.close();
    await w.pumping;
    await this.pump(w, true);
    this.watched.delete(executor);
    this.emit('ended', executor);
  }

  close(): void {
    clearInterval(this.poller);
    for (const w of this.watched.values()) w.watcher?.close();
    this.watched.clear();
  }

  private kick(w: Watched): void {
    w.dirty = true;
    if (w.pumping) return;
    w.pumping = (async () => {
      while (w.dirty && this.watched.has(w.executor)) {
        w.dirty = false;
        await this.pump(w, false);
      }
    })().finally(() => (w.pumping = undefined));
  }

  private async pump(w: Watched, final: boolean): Promise<void> {
    for (const stream of STREAMS) {
      for (;;) {
        const read = await this.readChunk(w, stream, final);
        if (!read) break;
      }
    }
  }

  /** Reads and indexes one chunk of new complete lines; false when there is nothing (complete) to read. */
  private async readChunk(w: Watched, stream: Stream, final: boolean): Promise<boolean> {
    const handle = await open(streamPath(w.dir, stream), 'r').catch(() => undefined);
    if (!handle) return false;
    try {
      const { size } = await handle.stat();
      const start = w.offsets[stream];
      if (size <= start) return false;
      const length = Math.min(size - start, MAX_READ);
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, start);
      const lastNewline = buffer.lastIndexOf(10, bytesRead - 1);
      // Only whole lines, unless the executor has ended and the rest will never be completed.
      const take = final && bytesRead === size - start ? bytesRead : lastNewline + 1;
      if (take <= 0) return false;
      const time = Date.now();
      w.offsets[stream] = start + take;
      await appendFile(indexPath(w.dir, stream), `${start + take} ${time}\n`);
      if (this.listenerCount('lines') > 0) {
        this.emit('lines', { executor: w.executor, stream, time, lines: splitLines(buffer.subarray(0, take), start) });
      }
      return true;
    } finally {
      await handle.close();
    }
  }
}

async function lastIndexedOffset(dir: string, stream: Stream): Promise<number> {
  const text = await readFile(indexPath(dir, stream), 'utf8').catch(() => '');
  const last = text.trimEnd().split('\n').at(-1) ?? '';
  const offset = Number(last.split(' ')[0]);
  return Number.isFinite(offset) ? offset : 0;
}
