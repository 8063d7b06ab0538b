/**
 * Watches the log files of running executors: each new chunk gets one index entry (its end offset and the
 * time it was seen), which is how every line gets a timestamp without per-line work in the executor, and new
 * complete lines are handed to followers as they arrive. inotify (fs.watch) wakes it at once; a slow poll
 * covers missed events.
 *
 * The log files are written by the executor, which may do anything to them; the indexes live in the server's
 * own tree (layout.ts `indexDir`) but may still be unwritable (a read-only disk, or an executor running as the
 * server's user). Nothing here may throw into the process: a file that cannot be read or indexed marks that
 * stream's logs damaged (the 'damaged' event, logged once), lines keep being delivered, everything else goes on.
 */
import { EventEmitter } from 'node:events';
import { constants, watch, type FSWatcher } from 'node:fs';
import { lstat, mkdir, type FileHandle } from 'node:fs/promises';
import { indexDir, indexPath, legacyIndexPath, STREAMS, streamPath, type Stream } from './layout.js';
import { lastIndexed } from './chunk-index.js';
import { openRegular, readIndexText, splitLines, type RawLine } from './line-reader.js';

export interface TailedLines {
  executor: string;
  stream: Stream;
  time: number;
  lines: RawLine[];
}

/** A stream whose file could not be read or whose index could not be written: its timestamps may be coarse. */
export interface LogDamage {
  executor: string;
  stream: Stream;
  /** What went wrong, in words, with the path and the errno code. */
  reason: string;
}

interface TailerEvents {
  lines: [TailedLines];
  ended: [string];
  damaged: [LogDamage];
}

/** Where the tailer reports what it survived (a pino/Fastify logger fits). */
export interface TailerLog {
  warn(details: object, message: string): void;
}

export interface LogTailerOptions {
  /** Default: one line on stderr per damaged stream. */
  log?: TailerLog;
}

interface Watched {
  executor: string;
  dir: string;
  offsets: Record<Stream, number>;
  /** File sizes at the last read, so the poll does not re-read an unfinished last line that has not grown. */
  seen: Record<Stream, number>;
  damaged: Partial<Record<Stream, string>>;
  /** Streams whose index ends in a partial line (a crash mid-append, or garbage): the next entry starts a line. */
  unterminated: Set<Stream>;
  watcher: FSWatcher | undefined;
  pumping: Promise<void> | undefined;
  dirty: boolean;
}

/** Bytes read per stream per pass; a fast writer is indexed in several passes rather than one huge buffer. */
const MAX_READ = 8 * 1024 * 1024;
const SAFETY_POLL_MS = 1000;
/** Streams with a working inotify watch are polled only every this many ticks (they are woken by events). */
const WATCHED_POLL_EVERY = 5;
const INDEX_APPEND = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT;

const stderrLog: TailerLog = {
  warn: (details, message) => process.stderr.write(`periscope: ${message} ${JSON.stringify(details)}\n`),
};

export class LogTailer extends EventEmitter<TailerEvents> {
  private readonly watched = new Map<string, Watched>();
  private readonly poller: NodeJS.Timeout;
  private readonly log: TailerLog;
  private ticks = 0;

  constructor(options: LogTailerOptions = {}) {
    super();
    this.setMaxListeners(0);
    this.log = options.log ?? stderrLog;
    this.poller = setInterval(() => this.poll(), SAFETY_POLL_MS);
    this.poller.unref();
  }

  isWatching(executor: string): boolean {
    return this.watched.has(executor);
  }

  /** Starts indexing an executor's files, resuming after what an earlier server indexed. Never rejects. */
  async watch(executor: string, dir: string): Promise<void> {
    if (this.watched.has(executor)) return;
    const w: Watched = { executor, dir, offsets: { stdout: 0, stderr: 0 }, seen: { stdout: 0, stderr: 0 }, damaged: {}, unterminated: new Set(), watcher: undefined, pumping: undefined, dirty: true };
    this.watched.set(executor, w);
    // A new executor's index dir is created here: then there is no index to resume from (only, perhaps, a legacy one).
    let fresh = false;
    try {
      fresh = (await mkdir(indexDir(dir), { recursive: true, mode: 0o700 })) !== undefined;
    } catch (error) {
      for (const stream of STREAMS) this.damage(w, stream, `cannot create the index dir ${indexDir(dir)}`, error);
    }
    for (const stream of STREAMS) w.offsets[stream] = await this.resumeOffset(w, stream, fresh);
    try {
      w.watcher = watch(dir, { persistent: false }, () => this.kick(w));
      w.watcher.on('error', () => {
        // The safety poll carries on, at its full rate.
        w.watcher?.close();
        w.watcher = undefined;
      });
    } catch {
      // No inotify for this dir: the safety poll carries on.
    }
    this.kick(w);
  }

  /** Indexes everything left (a last line without newline included) and stops watching. Never rejects. */
  async finish(executor: string): Promise<void> {
    const w = this.watched.get(executor);
    if (!w) return;
    w.watcher?.close();
    await w.pumping;
    await this.pump(w, true);
    this.watched.delete(executor);
    this.safely(w, () => this.emit('ended', executor));
  }

  close(): void {
    clearInterval(this.poller);
    for (const w of this.watched.values()) w.watcher?.close();
    this.watched.clear();
  }

  /** The safety poll: one lstat per stream, and a pump only where a file grew past what was indexed. */
  private poll(): void {
    const full = this.ticks++ % WATCHED_POLL_EVERY === 0;
    for (const w of this.watched.values()) {
      if (w.pumping || (w.watcher && !full)) continue;
      void Promise.all(STREAMS.map((s) => lstat(streamPath(w.dir, s)).then((st) => st.size > Math.max(w.offsets[s], w.seen[s]), () => false))).then((grown) => {
        if (grown.includes(true)) this.kick(w);
      });
    }
  }

  private kick(w: Watched): void {
    w.dirty = true;
    if (w.pumping) return;
    w.pumping = (async () => {
      while (w.dirty && this.watched.has(w.executor)) {
        w.dirty = false;
        if (!(await this.pump(w, false))) break; // retried on the next event or poll, not in a tight loop
      }
    })().finally(() => (w.pumping = undefined));
  }

  /** Whether the pass went through; an error is reported against the executor and stream, never thrown. */
  private async pump(w: Watched, final: boolean): Promise<boolean> {
    let ok = true;
    for (const stream of STREAMS) {
      try {
        while (await this.readChunk(w, stream, final));
      } catch (error) {
        this.damage(w, stream, 'cannot index the log file', error);
        ok = false;
      }
    }
    return ok;
  }

  /** Reads and indexes one chunk of new complete lines; false when there is nothing (complete) to read. */
  private async readChunk(w: Watched, stream: Stream, final: boolean): Promise<boolean> {
    const path = streamPath(w.dir, stream);
    // Most passes find nothing new (a wake-up per file event): one lstat says so without opening the file. What
    // is not a plain file goes on to openRegular, which reports it.
    const peek = await lstat(path).catch((error: NodeJS.ErrnoException) => error.code);
    if (peek === 'ENOENT') return false;
    if (typeof peek === 'object' && peek.isFile() && peek.size <= w.offsets[stream]) {
      w.seen[stream] = peek.size;
      return false;
    }
    let handle: FileHandle;
    try {
      handle = await openRegular(path);
    } catch (error) {
      // Not there yet is normal; anything else (a directory, a FIFO, a symlink in its place) is damage.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') this.damage(w, stream, 'cannot read the log file', error);
      return false;
    }
    try {
      const { size } = await handle.stat();
      const start = w.offsets[stream];
      w.seen[stream] = size;
      if (size <= start) return false;
      const length = Math.min(size - start, MAX_READ);
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, start);
      const lastNewline = buffer.lastIndexOf(10, bytesRead - 1);
      // Only whole lines, unless the executor has ended and the rest will never be completed, or a line is
      // longer than a whole read (it is delivered in pieces rather than re-read on every write).
      const take = (final && bytesRead === size - start) || (lastNewline === -1 && bytesRead === MAX_READ) ? bytesRead : lastNewline + 1;
      if (take <= 0) return false;
      const time = Date.now();
      w.offsets[stream] = start + take;
      await this.appendIndex(w, stream, `${start + take} ${time}\n`);
      if (this.listenerCount('lines') > 0) {
        const lines = splitLines(buffer.subarray(0, take), start);
        this.safely(w, () => this.emit('lines', { executor: w.executor, stream, time, lines }));
      }
      return true;
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  /** Appends an index entry; a failure costs timestamps (lines fall back to the file's mtime), never lines. */
  private async appendIndex(w: Watched, stream: Stream, entry: string): Promise<void> {
    const path = indexPath(w.dir, stream);
    try {
      const handle = await openRegular(path, INDEX_APPEND);
      try {
        await handle.write(w.unterminated.delete(stream) ? `\n${entry}` : entry);
      } finally {
        await handle.close().catch(() => undefined);
      }
    } catch (error) {
      this.damage(w, stream, `cannot write the chunk index ${path}`, error);
    }
  }

  /**
   * Where indexing resumes: after the last entry an earlier server wrote. An index written by an older server
   * beside the log file is carried over first; one that is damaged means starting over (followers drop lines
   * they already have by offset).
   */
  private async resumeOffset(w: Watched, stream: Stream, fresh: boolean): Promise<number> {
    const path = indexPath(w.dir, stream);
    let handle = fresh ? 'ENOENT' : await openRegular(path).catch((error: NodeJS.ErrnoException) => error.code);
    if (handle === 'ENOENT') {
      const legacy = (await readIndexText(legacyIndexPath(w.dir, stream))) ?? '';
      if (legacy === '') return 0;
      await this.appendIndex(w, stream, legacy.endsWith('\n') ? legacy : `${legacy}\n`);
      handle = await openRegular(path).catch((error: NodeJS.ErrnoException) => error.code);
    }
    if (typeof handle === 'string' || handle === undefined) return 0;
    try {
      // Only the index's end is read: a week of a slow writer's entries is not read back on every restart.
      const { end, unterminated } = await lastIndexed(handle);
      if (unterminated) w.unterminated.add(stream);
      return end;
    } catch {
      return 0;
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  /** Marks a stream damaged: reported once per stream and executor, logged with the executor it concerns. */
  private damage(w: Watched, stream: Stream, what: string, error: unknown): void {
    if (w.damaged[stream] !== undefined) return;
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    const reason = `${what}: ${code ?? (error as Error)?.message ?? String(error)}`;
    w.damaged[stream] = reason;
    this.safely(w, () => {
      this.log.warn({ executor: w.executor, stream, reason }, 'executor logs damaged');
      this.emit('damaged', { executor: w.executor, stream, reason });
    });
  }

  /** Runs listeners (a follower's socket, the logger): their failure is logged, never the tailer's to crash on. */
  private safely(w: Watched, deliver: () => void): void {
    try {
      deliver();
    } catch (error) {
      try {
        this.log.warn({ executor: w.executor, error: (error as Error)?.message }, 'a log listener failed');
      } catch {
        // nowhere left to report it
      }
    }
  }
}
