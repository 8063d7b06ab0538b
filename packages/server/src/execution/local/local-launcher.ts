import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { NodeCapacity } from '../capacity.js';
import type { Attached, ExecutorExit, LaunchSpec, Launcher, LauncherEvents } from '../launcher.js';
import { WRAPPER_ARGV0, WRAPPER_SCRIPT } from './wrapper.js';

export const LOG_FILES = { stdout: 'stdout', stderr: 'stderr', exit: 'exit' } as const;

interface Tracked {
  name: string;
  pid: number;
  logDir: string;
  child: ChildProcess | null;
  canceled: boolean;
  reported: boolean;
}

/** How often re-attached executors (not our children after a restart) are checked for their exit file. */
const RECOVERED_POLL_MS = 200;

/**
 * Runs executors as local processes, each in its own process group and session (detached), so they outlive
 * a crash of the server. Our children report their end through the 'exit' event; survivors of a previous
 * server are watched through their exit file and their pid.
 */
export class LocalLauncher extends EventEmitter<LauncherEvents> implements Launcher {
  private readonly tracked = new Map<string, Tracked>();
  private poller: NodeJS.Timeout | undefined;

  constructor(private readonly node: NodeCapacity) {
    super();
  }

  async nodes(): Promise<NodeCapacity[]> {
    return [this.node];
  }

  async submit(executors: LaunchSpec[]): Promise<Attached[]> {
    const attached: Attached[] = [];
    try {
      for (const spec of executors) attached.push(await this.spawnOne(spec));
    } catch (error) {
      await this.cancel(attached.map((a) => a.name), 0);
      throw error;
    }
    return attached;
  }

  private async spawnOne(spec: LaunchSpec): Promise<Attached> {
    await mkdir(spec.logDir, { recursive: true });
    await rm(join(spec.logDir, LOG_FILES.exit), { force: true });
    const child = spawn(
      '/bin/sh',
      ['-c', WRAPPER_SCRIPT, WRAPPER_ARGV0, join(spec.logDir, LOG_FILES.stdout), join(spec.logDir, LOG_FILES.stderr), join(spec.logDir, LOG_FILES.exit), ...spec.argv],
      { cwd: spec.cwd, env: { ...inheritedEnv(), ...spec.env }, detached: true, stdio: 'ignore' },
    );
    await Promise.race([once(child, 'spawn'), once(child, 'error').then(([e]) => Promise.reject(e as Error))]);
    const tracked: Tracked = { name: spec.name, pid: child.pid!, logDir: spec.logDir, child, canceled: false, reported: false };
    this.tracked.set(spec.name, tracked);
    child.on('exit', (code, signal) => void this.settle(tracked, code, signal));
    return { name: spec.name, pid: child.pid! };
  }

  /** Reports an end once, preferring the exit file (what the command really returned) to the wrapper's status. */
  private async settle(tracked: Tracked, code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    if (tracked.reported) return;
    const recorded = await readExitFile(tracked.logDir);
    if (tracked.reported) return;
    tracked.reported = true;
    this.tracked.delete(tracked.name);
    this.emit('exited', classifyExit(tracked, recorded ?? (signal ? null : code), recorded === null ? signal : null));
  }

  async cancel(names: string[], graceMs: number): Promise<void> {
    const targets = names.map((n) => this.tracked.get(n)).filter((t): t is Tracked => t !== undefined);
    for (const t of targets) {
      t.canceled = true;
      signalGroup(t.pid, 'SIGTERM');
    }
    const deadline = Date.now() + graceMs;
    while (targets.some((t) => groupAlive(t.pid)) && Date.now() < deadline) await delay(20);
    for (const t of targets) if (groupAlive(t.pid)) signalGroup(t.pid, 'SIGKILL');
    while (targets.some((t) => groupAlive(t.pid))) await delay(10);
    // Our own children report through 'exit'; re-attached ones through the poller. Make sure every one is
    // settled before answering, so a cancel is complete when it returns.
    await Promise.all(targets.map((t) => (t.reported ? undefined : this.settle(t, null, 'SIGKILL'))));
  }

  async recover(executors: { name: string; pid: number | null; logDir: string }[]): Promise<void> {
    for (const e of executors) {
      // A crash between spawning and recording the pid leaves it unknown: find the wrapper by its log dir.
      const pid = e.pid ?? findWrapper(e.logDir);
      const tracked: Tracked = { name: e.name, pid: pid ?? -1, logDir: e.logDir, child: null, canceled: false, reported: false };
      if (pid !== null && (await isOurWrapper(pid, e.logDir))) {
        this.tracked.set(e.name, tracked);
      } else {
        await this.settleRecovered(tracked);
      }
    }
    this.poller ??= setInterval(() => void this.pollRecovered(), RECOVERED_POLL_MS);
  }

  private async pollRecovered(): Promise<void> {
    for (const t of [...this.tracked.values()]) {
      if (t.child === null && !t.reported && !groupAlive(t.pid)) await this.settleRecovered(t);
    }
  }

  /** An executor that ended while the server was down: its exit file says how, or it is lost. */
  private async settleRecovered(t: Tracked): Promise<void> {
    const recorded = await readExitFile(t.logDir);
    if (t.reported) return;
    t.reported = true;
    this.tracked.delete(t.name);
    this.emit('exited', classifyExit(t, recorded, null));
  }

  async close(): Promise<void> {
    if (this.poller) clearInterval(this.poller);
    this.poller = undefined;
    // Executors outlive the server by design: stop listening and let the process exit without them.
    for (const t of this.tracked.values()) {
      t.child?.removeAllListeners('exit');
      t.child?.unref();
    }
    this.tracked.clear();
  }
}

/** The server's environment minus its own configuration (PERISCOPE_DB may hold a password). */
function inheritedEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('PERISCOPE_')));
}

export async function readExitFile(logDir: string): Promise<number | null> {
  try {
    const text = (await readFile(join(logDir, LOG_FILES.exit), 'utf8')).trim();
    return /^\d+$/.test(text) ? Number(text) : null;
  } catch {
    return null;
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/**
 * Whether any live process of the group (pgid = the wrapper's pid) remains. Zombies do not count: orphans of
 * a killed group are reaped by init, which on some hosts does so only every second or two.
 */
export function groupAlive(pgid: number): boolean {
  if (pgid <= 0) return false;
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  return process.platform !== 'linux' || liveMembers(pgid) > 0;
}

/** Non-zombie processes of a group, from /proc/<pid>/stat ("pid (comm) state ppid pgrp ..."). */
export function liveMembers(pgid: number): number {
  let count = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z') count++;
  }
  return count;
}

/** A recorded pid may have been reused by an unrelated process after a reboot; trust it only if it is our wrapper for this log dir. */
async function isOurWrapper(pid: number, logDir: string): Promise<boolean> {
  try {
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    return cmdline.includes(WRAPPER_ARGV0) && cmdline.includes(join(logDir, LOG_FILES.exit));
  } catch {
    // No /proc (not Linux): fall back to the pid being alive.
    return process.platform !== 'linux' && groupAlive(pid);
  }
}

/**
 * One status and one cause for every way an executor can end. `sh` reports a command killed by signal n as
 * 128+n; no status at all (no exit file, no wait status) means the process vanished: lost.
 */
function classifyExit(t: Tracked, status: number | null, signal: string | null): ExecutorExit {
  const bySignal = signal ?? (status !== null && status > 128 ? signalName(status - 128) : null);
  const cause = t.canceled ? 'canceled' : bySignal ? 'signaled' : status === null ? 'lost' : 'exited';
  return { name: t.name, exitCode: status, signal: bySignal, cause };
}

/** The pid of the wrapper writing to this log dir, from /proc (Linux), or null. */
function findWrapper(logDir: string): number | null {
  if (process.platform !== 'linux') return null;
  const exitPath = join(logDir, LOG_FILES.exit);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (cmdline.includes(WRAPPER_ARGV0) && cmdline.includes(exitPath)) return Number(entry);
    } catch {
      // exited while we looked
    }
  }
  return null;
}

const SIGNALS: Record<number, string> = { 1: 'SIGHUP', 2: 'SIGINT', 6: 'SIGABRT', 9: 'SIGKILL', 11: 'SIGSEGV', 13: 'SIGPIPE', 15: 'SIGTERM' };
function signalName(n: number): string {
  return SIGNALS[n] ?? `signal ${n}`;
}
