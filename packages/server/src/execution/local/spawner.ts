/**
 * Starting executors through a spawner process of its own (spawner-process.mjs), so fork/exec does not block
 * the server's event loop: `ChildProcess.spawn` was 30 % of the server's time when 500 experiments started at
 * once, each call blocking for as long as the new process took to exec on a loaded machine.
 *
 * The spawner is the wrappers' parent: it reports their pid, passes the go-ahead on, and reports their exit.
 * It is forked on the first spawn and ends with the launcher (or the server). If it dies while wrappers run,
 * they run on (detached) and each is reported `lost`: the launcher then watches it as it watches executors
 * re-attached after a restart (its exit file and pid). The next spawn forks a new spawner.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Beside this module in the sources, beside the bundle once built (scripts/build-server.mjs copies it). */
const HELPER = join(dirname(fileURLToPath(import.meta.url)), 'spawner-process.mjs');
const CLOSE_GRACE_MS = 2000;

export interface SpawnRequest {
  file: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
}

interface SpawnerEvents {
  exit: [code: number | null, signal: NodeJS.Signals | null];
  /** The spawner died: this process's end will not be reported by it. */
  lost: [];
}

/** A wrapper started by the spawner: its pid, its go-ahead, and its end. */
export class SpawnedProcess extends EventEmitter<SpawnerEvents> {
  constructor(
    readonly pid: number,
    private readonly goAhead: () => void,
  ) {
    super();
  }

  /** Lets the wrapper run its command (it waits for a line on stdin: see wrapper.ts). */
  go(): void {
    this.goAhead();
  }
}

type HelperMessage =
  | { spawned: number; pid: number }
  | { failed: number; error: { message: string; code?: string; errno?: number; syscall?: string; path?: string } }
  | { exited: number; code: number | null; signal: NodeJS.Signals | null };

export class Spawner {
  private helper: ChildProcess | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (spawned: SpawnedProcess) => void; reject: (error: Error) => void }>();
  private readonly running = new Map<number, SpawnedProcess>();

  /** Starts `file args` detached, stdin a pipe for the go-ahead, stdout and stderr ignored. */
  spawn(request: SpawnRequest): Promise<SpawnedProcess> {
    const helper = this.helper ?? this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.holdWhileBusy();
      helper.send({ spawn: id, ...request }, (error) => {
        if (error) this.settlePending(id, (p) => p.reject(error));
      });
    });
  }

  /** Ends the spawner (it exits when its channel closes); the wrappers it started run on, unreported. */
  async close(): Promise<void> {
    const helper = this.helper;
    this.helper = undefined;
    this.running.clear();
    for (const { reject } of this.pending.values()) reject(new Error('the launcher closed'));
    this.pending.clear();
    if (!helper || helper.exitCode !== null || helper.signalCode !== null) return;
    const exited = new Promise((resolve) => helper.once('exit', resolve));
    if (helper.connected) helper.disconnect();
    // Gone before the server is: nothing of it outlives a clean stop. A spawner that will not go is killed.
    const timer = setTimeout(() => helper.kill('SIGKILL'), CLOSE_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }

  private start(): ChildProcess {
    // No execArgv: the server's own (a loader, --inspect) has no business in a plain .mjs helper. No environment
    // either: every executor is given its own, and the server's (PERISCOPE_DB may hold a password) stays with it.
    const helper = fork(HELPER, [], { execArgv: [], env: {}, serialization: 'json', stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    this.helper = helper;
    helper.on('message', (message: HelperMessage) => this.hear(message));
    helper.on('error', () => undefined); // a failed send is answered through its callback
    helper.once('exit', () => this.lose(helper));
    return helper;
  }

  private hear(message: HelperMessage): void {
    if ('spawned' in message) {
      const id = message.spawned;
      const spawned = new SpawnedProcess(message.pid, () => this.helper?.send({ go: id }, () => undefined));
      this.running.set(id, spawned);
      this.settlePending(id, (p) => p.resolve(spawned));
    } else if ('failed' in message) {
      const { message: text, ...fields } = message.error;
      this.settlePending(message.failed, (p) => p.reject(Object.assign(new Error(text), fields)));
    } else if ('exited' in message) {
      const spawned = this.running.get(message.exited);
      this.running.delete(message.exited);
      this.holdWhileBusy();
      spawned?.emit('exit', message.code, message.signal);
    }
  }

  private settlePending(id: number, settle: (p: { resolve: (spawned: SpawnedProcess) => void; reject: (error: Error) => void }) => void): void {
    const waiting = this.pending.get(id);
    this.pending.delete(id);
    this.holdWhileBusy();
    if (waiting) settle(waiting);
  }

  /** The spawner died (killed, or out of memory): what it was doing is reported lost, and the next spawn forks anew. */
  private lose(helper: ChildProcess): void {
    if (this.helper !== helper) return;
    this.helper = undefined;
    const running = [...this.running.values()];
    this.running.clear();
    for (const { reject } of this.pending.values()) reject(new Error('the spawner process ended before the executor started'));
    this.pending.clear();
    for (const spawned of running) spawned.emit('lost');
  }

  /** Like a child process of the server's own, the spawner keeps the process alive only while it has work. */
  private holdWhileBusy(): void {
    const helper = this.helper;
    if (!helper) return;
    const busy = this.pending.size + this.running.size > 0;
    if (busy) {
      helper.ref();
      helper.channel?.ref();
    } else {
      helper.unref();
      helper.channel?.unref();
    }
  }
}
