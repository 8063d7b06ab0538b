import { EventEmitter } from 'node:events';
import { constants } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { NodeCapacity } from '../capacity.js';
import { GangScheduler } from '../scheduler.js';
import { FAULT_OF, type ExitCause, type ExecutorExit, type ExecutorHandle, type GangSpec, type LaunchSpec, type Launcher, type LauncherEvents, type RecoverableExecutor } from '../launcher.js';
import { cgroupSupport, createCgroup, executorTag, findCgroup, joinCgroup, killCgroup, removeEmptyCgroups, type CgroupSupport } from './cgroups.js';
import { EXECUTOR_TAG_VAR, executorProcesses, killExecutorProcesses, type KnownProcesses } from './leftovers.js';
import { aliveGroups, findWrapper, isOurWrapper, signalGroup, wrapperAlive } from './process-groups.js';
import { Spawner, type SpawnedProcess } from './spawner.js';
import { WRAPPER_ARGV0, WRAPPER_SCRIPT } from './wrapper.js';

/** Tests and recovery ask whether a group still runs; it lives with the other /proc helpers. */
export { groupAlive } from './process-groups.js';

export const LOG_FILES = { stdout: 'stdout', stderr: 'stderr', exit: 'exit' } as const;

interface Tracked {
  name: string;
  pid: number;
  logDir: string;
  /** Its wrapper as the spawner reports it; null when it is watched by polling (re-attached, or its spawner died). */
  child: SpawnedProcess | null;
  canceled: boolean;
  /** Stopped for running past its gang's time limit (a cancel that is reported as timeout). */
  timedOut?: boolean;
  reported: boolean;
  /** Its cgroup name and environment marker. */
  tag: string;
  /** Its cgroup dir, or null: then what it leaves is found by tracking (see leftovers.ts). */
  cgroup: string | null;
  /** Whether `pid` is surely the wrapper's (false after a restart found it dead: the pid may be anyone's now). */
  pidOurs: boolean;
  /** Without a cgroup: its processes seen at a cancel's start, while their parents still tied them to it. */
  known?: KnownProcesses;
  /** The one kill of what it left (memoised: the exit event and a cancel both settle). */
  sweep?: Promise<number>;
}

/**
 * How often re-attached executors (not our children after a restart) are checked for their end. A check costs
 * one small /proc read per executor (its wrapper's stat) while it runs, so a hundred idle ones cost ~nothing.
 */
const RECOVERED_POLL_MS = 1000;

const MAX_TIMER_MS = 2 ** 31 - 1;

/** An empty executor cgroup at least this old, found at the first recovery, belongs to nobody any more. */
const STALE_CGROUP_MS = 60_000;

/** Where the launcher reports what it survived (a pino/Fastify logger fits). */
export interface LauncherLog {
  error(details: object, message: string): void;
  /** What is worth knowing but not a failure (what an executor left running); falls back to `error`. */
  warn?(details: object, message: string): void;
}

const stderrLog: LauncherLog = {
  error: (details, message) => process.stderr.write(`periscope: ${message} ${JSON.stringify(details)}\n`),
};

export interface LocalLauncherOptions {
  /** Hears about failures in background work, which never end the process. Default: stderr. */
  log?: LauncherLog;
  /**
   * Whether to put each executor in a cgroup of its own (Linux, cgroup v2, our cgroup writable), so that all it
   * starts is killed when it ends. Default true; where cgroups are unavailable, or with false, what it leaves is
   * found by tracking its session, process tree and environment marker instead (leftovers.ts).
   */
  cgroups?: boolean;
  /** SIGTERM → SIGKILL grace when a gang runs past its time limit, in ms (default 10 s). */
  timeoutGraceMs?: number;
}

/**
 * Runs executors as local processes, each in its own process group and session (detached), so they outlive
 * a crash of the server. Our children report their end through the 'exit' event; survivors of a previous
 * server are watched through their exit file and their pid.
 */
export class LocalLauncher extends EventEmitter<LauncherEvents> implements Launcher {
  readonly kind = 'local';
  /** Gang scheduling over this one node (CPUs, memory, GPUs by index). */
  readonly placer: GangScheduler;
  private readonly tracked = new Map<string, Tracked>();
  private poller: NodeJS.Timeout | undefined;
  private polling = false;
  private readonly log: LauncherLog;
  private readonly cgroups: CgroupSupport;
  private cgroupsExplained = false;
  private staleCgroupsRemoved = false;
  private readonly spawner = new Spawner();
  /** Read once: process.env is slow to walk (~65 µs for 40 variables) and the server does not change it. */
  private readonly inherited = inheritedEnv();

  constructor(
    private readonly node: NodeCapacity,
    private readonly options: LocalLauncherOptions = {},
  ) {
    super();
    this.placer = new GangScheduler(node, LOCAL_HOST);
    this.log = options.log ?? stderrLog;
    this.cgroups = options.cgroups === false ? { unavailable: 'turned off' } : cgroupSupport();
  }

  private warn(details: object, message: string): void {
    if (this.log.warn) this.log.warn(details, message);
    else this.log.error(details, message);
  }

  /** The executor's new cgroup, or null (said once per launcher: executors then run without one). */
  private async newCgroup(tag: string): Promise<string | null> {
    let reason: string;
    if ('unavailable' in this.cgroups) reason = this.cgroups.unavailable;
    else {
      try {
        return await createCgroup(this.cgroups, tag);
      } catch (error) {
        reason = (error as Error).message;
      }
    }
    this.explainNoCgroup(reason);
    return null;
  }

  private explainNoCgroup(reason: string): void {
    if (this.cgroupsExplained) return;
    this.cgroupsExplained = true;
    this.warn({ reason }, 'local launcher: executors run without a cgroup; what they leave running is found by session, process tree and environment (a daemon that scrubs its environment escapes)');
  }

  async nodes(): Promise<NodeCapacity[]> {
    return [this.node];
  }

  /** Spawns the gang's executors on this node (the local scheduler has placed it); all or none. */
  async submit(gang: GangSpec): Promise<ExecutorHandle[]> {
    const handles: ExecutorHandle[] = [];
    try {
      for (const spec of gang.executors) {
        handles.push(await this.spawnOne(spec));
        // Said at once: its exit (a message from the spawner, later) must not be heard before its start.
        this.emitSafely('started', { name: spec.name, node: this.node.name, host: LOCAL_HOST, gpus: spec.gpus ?? [] });
      }
      // Local processes run from their spawn; what finds them after a crash without a handle is their tag.
      await gang.recorded?.(handles);
    } catch (error) {
      await this.cancel(handles.map((a) => a.name), 0);
      throw error;
    }
    if (gang.timeLimitS !== undefined) this.limit(gang.executors.map((e) => e.name), gang.timeLimitS);
    return handles;
  }

  /**
   * Ends the gang's executors that still run once its time limit has passed, reported as timeout. The limit
   * lives in this process: an executor re-attached after a restart runs without one.
   */
  private limit(names: string[], seconds: number): void {
    const expire = () => {
      const running = names.filter((n) => this.tracked.get(n)?.reported === false);
      for (const n of running) this.tracked.get(n)!.timedOut = true;
      this.background(null, 'stopping executors past their time limit', () => this.cancel(running, this.options.timeoutGraceMs ?? 10_000));
    };
    // A timer waits at most 2^31-1 ms (~24.8 days); a longer limit is waited for in parts.
    const arm = (ms: number) => setTimeout(() => (ms > MAX_TIMER_MS ? arm(ms - MAX_TIMER_MS) : expire()), Math.min(ms, MAX_TIMER_MS)).unref();
    arm(seconds * 1000);
  }

  private async spawnOne(spec: LaunchSpec): Promise<ExecutorHandle> {
    await mkdir(spec.logDir, { recursive: true });
    // Recursive: a previous run of the same executor may have left anything there.
    await rm(join(spec.logDir, LOG_FILES.exit), { force: true, recursive: true });
    const tag = executorTag(spec.name, resolve(spec.logDir));
    const cgroup = await this.newCgroup(tag);
    let child: SpawnedProcess;
    try {
      child = await this.spawner.spawn({
        file: '/bin/sh',
        args: ['-c', WRAPPER_SCRIPT, WRAPPER_ARGV0, join(spec.logDir, LOG_FILES.stdout), join(spec.logDir, LOG_FILES.stderr), join(spec.logDir, LOG_FILES.exit), ...spec.argv],
        cwd: spec.cwd,
        // The marker comes last so the spec cannot change it.
        env: { ...executorEnv(spec, this.inherited), [EXECUTOR_TAG_VAR]: tag },
      });
    } catch (error) {
      if (cgroup) await killCgroup(cgroup).catch(() => undefined);
      throw error;
    }
    const tracked: Tracked = { name: spec.name, pid: child.pid, logDir: spec.logDir, child, canceled: false, reported: false, tag, cgroup, pidOurs: true };
    this.tracked.set(spec.name, tracked);
    // Listened to before anything is awaited: an exit in between would be missed.
    child.on('exit', (code, signal) => this.background(tracked.name, 'settling an exited executor', () => this.settle(tracked, code, signal)));
    // Its spawner died: its end is found as a re-attached executor's is.
    child.on('lost', () => {
      tracked.child = null;
      this.watchPolled();
    });
    if (cgroup) {
      try {
        await joinCgroup(cgroup, child.pid);
      } catch (error) {
        // e.g. EACCES without write access to the common ancestor, EOPNOTSUPP in a threaded cgroup.
        this.explainNoCgroup(`moving the wrapper into ${cgroup}: ${(error as Error).message}`);
        await killCgroup(cgroup).catch(() => undefined);
        tracked.cgroup = null;
      }
    }
    // stdin carries the go-ahead (see WRAPPER_SCRIPT): the wrapper runs the command only once it is in its cgroup.
    child.go();
    return { name: spec.name, handle: String(child.pid), pid: child.pid };
  }

  /** Runs background work whose failure is logged with the executor it concerns, never thrown into the process. */
  private background(executor: string | null, what: string, work: () => Promise<void>): void {
    work().catch((error: unknown) => {
      try {
        this.log.error({ executor, error: (error as Error)?.stack ?? String(error) }, `local launcher: ${what} failed`);
      } catch {
        // nowhere left to report it
      }
    });
  }

  /** Reports an end once, preferring the exit file (what the command really returned) to the wrapper's status. */
  private async settle(tracked: Tracked, code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    if (tracked.reported) return;
    const recorded = await readExitFile(tracked.logDir);
    const leftovers = await this.sweep(tracked);
    if (tracked.reported) return;
    tracked.reported = true;
    this.tracked.delete(tracked.name);
    this.report(classifyExit(tracked, recorded ?? (signal ? null : code), recorded === null ? signal : null, leftovers));
  }

  /**
   * Kills whatever the executor left running once its command has ended (its wrapper is gone): the whole cgroup,
   * or what tracking finds. Runs once per executor; says what it killed, against the executor. Never throws: a
   * failure is logged and counts as nothing killed.
   */
  private sweep(t: Tracked): Promise<number> {
    t.sweep ??= (async () => {
      try {
        const killed = t.cgroup ? await killCgroup(t.cgroup) : await killExecutorProcesses({ tag: t.tag, wrapperPid: t.pidOurs ? t.pid : null, known: t.known });
        if (killed > 0) this.warn({ executor: t.name, leftovers: killed, canceled: t.canceled }, `local launcher: killed ${killed} process(es) the executor left running`);
        return killed;
      } catch (error) {
        this.log.error({ executor: t.name, error: (error as Error)?.stack ?? String(error) }, 'local launcher: killing what the executor left running failed');
        return 0;
      }
    })();
    return t.sweep;
  }

  async cancel(names: string[], graceMs: number): Promise<void> {
    const targets = names.map((n) => this.tracked.get(n)).filter((t): t is Tracked => t !== undefined);
    for (const t of targets) {
      t.canceled = true;
      // Without a cgroup, note its processes while their parents still tie them to it (a setsid child's does).
      if (!t.cgroup && process.platform === 'linux') t.known = executorProcesses({ tag: t.tag, wrapperPid: t.pidOurs ? t.pid : null });
      signalGroup(t.pid, 'SIGTERM');
    }
    const deadline = Date.now() + graceMs;
    const cgroups = new Map(targets.flatMap((t) => (t.cgroup ? [[t.pid, t.cgroup] as const] : [])));
    const alive = () => aliveGroups(targets.map((t) => t.pid), cgroups);
    while (alive().size > 0 && Date.now() < deadline) await delay(20);
    for (const pgid of alive()) signalGroup(pgid, 'SIGKILL');
    while (alive().size > 0) await delay(10);
    // Our own children report through 'exit'; re-attached ones through the poller. Make sure every one is
    // settled before answering, so a cancel is complete when it returns.
    await Promise.all(targets.map((t) => (t.reported ? undefined : this.settle(t, null, 'SIGKILL'))));
  }

  async recover(executors: RecoverableExecutor[]): Promise<void> {
    for (const e of executors.map((r) => ({ ...r, pid: pidOfHandle(r.handle) }))) {
      const tag = executorTag(e.name, resolve(e.logDir));
      const tracked: Tracked = { name: e.name, pid: e.pid ?? -1, logDir: e.logDir, child: null, canceled: false, reported: false, tag, cgroup: null, pidOurs: false };
      try {
        // A crash between spawning and recording the pid leaves it unknown: find the wrapper by its log dir.
        const pid = e.pid ?? findWrapper(join(e.logDir, LOG_FILES.exit));
        tracked.pid = pid ?? -1;
        tracked.pidOurs = pid !== null && (await isOurWrapper(pid, join(e.logDir, LOG_FILES.exit)));
        tracked.cgroup = findCgroup(this.cgroups, tag, tracked.pidOurs ? pid : null);
        if (tracked.pidOurs) this.tracked.set(e.name, tracked);
        else await this.settleRecovered(tracked);
      } catch (error) {
        // One executor that cannot be looked at does not stop the recovery of the others.
        this.log.error({ executor: e.name, error: (error as Error)?.stack ?? String(error) }, 'local launcher: re-attaching failed');
        this.tracked.delete(e.name);
        if (!tracked.reported) {
          tracked.reported = true;
          this.report(classifyExit(tracked, null, null));
        }
      }
    }
    if (!this.staleCgroupsRemoved && 'base' in this.cgroups) {
      this.staleCgroupsRemoved = true;
      removeEmptyCgroups(this.cgroups.base, STALE_CGROUP_MS);
    }
    this.watchPolled();
  }

  /** Starts the poll of executors whose end no spawner reports (re-attached ones, or those of a spawner that died). */
  private watchPolled(): void {
    this.poller ??= setInterval(() => this.background(null, 'watching re-attached executors', () => this.pollRecovered()), RECOVERED_POLL_MS);
  }

  /**
   * One pass over every re-attached executor: one read of its wrapper's /proc stat, not a /proc scan. The wrapper,
   * not its process group, is what lives as long as the command: a background child left in the group must not
   * keep the executor running (it is killed when the executor settles).
   */
  private async pollRecovered(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const recovered = [...this.tracked.values()].filter((t) => t.child === null && !t.reported);
      if (recovered.length === 0) return;
      for (const t of recovered) {
        if (!wrapperAlive(t.pid)) await this.settleRecovered(t).catch((error: unknown) => this.log.error({ executor: t.name, error: String(error) }, 'local launcher: settling a re-attached executor failed'));
      }
    } finally {
      this.polling = false;
    }
  }

  /** An executor that ended while the server was down: its exit file says how, or it is lost. */
  private async settleRecovered(t: Tracked): Promise<void> {
    const recorded = await readExitFile(t.logDir);
    const leftovers = await this.sweep(t);
    if (t.reported) return;
    t.reported = true;
    this.tracked.delete(t.name);
    this.report(classifyExit(t, recorded, null, leftovers));
  }

  /** Tells listeners an executor ended; one that throws is logged, and neither the launcher nor recovery stops. */
  private report(exit: ExecutorExit): void {
    this.emitSafely('exited', exit);
  }

  private emitSafely<K extends keyof LauncherEvents>(event: K, ...args: LauncherEvents[K]): void {
    try {
      (this.emit as (event: K, ...args: LauncherEvents[K]) => boolean)(event, ...args);
    } catch (error) {
      this.log.error({ executor: (args[0] as { name?: string }).name ?? null, event, error: (error as Error)?.stack ?? String(error) }, `local launcher: a listener of ${event} failed`);
    }
  }

  async close(): Promise<void> {
    if (this.poller) clearInterval(this.poller);
    this.poller = undefined;
    // Executors outlive the server by design: stop listening and let the process exit without them.
    for (const t of this.tracked.values()) t.child?.removeAllListeners();
    this.tracked.clear();
    await this.spawner.close();
  }
}

/**
 * The server's environment minus what points at the server's own secrets: its configuration (PERISCOPE_DB may
 * hold a password, PERISCOPE_CREDENTIALS names the admin's token file), its home and per-user config dirs, and
 * any variable naming a path in `~/.periscope` (the credentials file's dir). HOME is the trial's work dir, so a
 * tool that looks in `~` (the SDK for its credentials) finds only the trial's files. Tool locations (PATH,
 * PYENV_ROOT…) are kept so executors find the same programs. The launch spec comes last and may set any of these.
 */
export function executorEnv(spec: Pick<LaunchSpec, 'cwd' | 'env'>, inherited: NodeJS.ProcessEnv = inheritedEnv()): NodeJS.ProcessEnv {
  return { ...inherited, HOME: spec.cwd, ...spec.env };
}

/** What executors inherit of the server's environment (see executorEnv). */
export function inheritedEnv(): NodeJS.ProcessEnv {
  const home = homedir();
  const secrets = [join(home, '.periscope'), process.env.PERISCOPE_CREDENTIALS].filter((p): p is string => Boolean(p)).map((p) => resolve(p));
  const points = (value: string) => value.split(':').some((part) => part === home || secrets.some((s) => part === s || part.startsWith(`${s}/`)));
  return Object.fromEntries(Object.entries(process.env).filter(([name, value]) => !name.startsWith('PERISCOPE_') && !HOME_POINTERS.has(name) && !(value !== undefined && points(value))));
}

/** Variables that locate the server user's home or per-user config, cache and state (XDG base dirs). */
const HOME_POINTERS = new Set(['HOME', 'XDG_CONFIG_HOME', 'XDG_DATA_HOME', 'XDG_STATE_HOME', 'XDG_CACHE_HOME', 'XDG_RUNTIME_DIR']);

/** The exit file is written by the wrapper, in the executor's reach: a plain file with a small number, or nothing. */
const MAX_EXIT_FILE_BYTES = 64;

/**
 * The text of a small file in an executor's reach, or null. Such a file may be anything: a symlink or a FIFO
 * is not opened (O_NOFOLLOW, O_NONBLOCK), a directory or a file over `maxBytes` is refused, and no more than
 * `maxBytes` is read even if it grows meanwhile.
 */
export async function readSmallFile(path: string, maxBytes: number): Promise<string | null> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile() || stat.size > maxBytes) return null;
    const buffer = Buffer.alloc(maxBytes);
    const { bytesRead } = await handle.read(buffer, 0, maxBytes, 0);
    return buffer.toString('utf8', 0, bytesRead);
  } catch {
    return null;
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/**
 * The exit code recorded by the wrapper, or null: only a small decimal number counts, and only once its line is
 * complete (the wrapper writes the file in place, so it may be caught empty or half-written).
 */
export async function readExitFile(logDir: string): Promise<number | null> {
  const text = await readSmallFile(join(logDir, LOG_FILES.exit), MAX_EXIT_FILE_BYTES);
  return text !== null && /^\d{1,3}\n$/.test(text) ? Number(text.trimEnd()) : null;
}

/**
 * One status and one cause for every way an executor can end, for every launcher. `sh` reports a command
 * killed by signal n as 128+n; no status at all (no exit file, no wait status) means the process vanished:
 * lost. `known` is a cause the launcher knows better (a cancel, a time limit, the engine's word), and wins.
 */
export function exitOf(name: string, status: number | null, signal: string | null, known: ExitCause | null): ExecutorExit {
  const bySignal = signal ?? (status !== null && status > 128 ? signalName(status - 128) : null);
  const cause = known ?? (bySignal ? 'signaled' : status === null ? 'lost' : 'exited');
  return { name, exitCode: status, signal: bySignal, cause, fault: FAULT_OF[cause] };
}

function classifyExit(t: Tracked, status: number | null, signal: string | null, leftovers = 0): ExecutorExit {
  const exit = exitOf(t.name, status, signal, t.timedOut ? 'timeout' : t.canceled ? 'canceled' : null);
  return { ...exit, ...(leftovers > 0 && { leftovers }) };
}

/** Local executors run on this machine; distributed jobs rendezvous over loopback. */
export const LOCAL_HOST = '127.0.0.1';

/** A local handle is the wrapper's pid; one stored by a server older than handles is null (found by log dir). */
function pidOfHandle(handle: string | null): number | null {
  return handle !== null && /^\d{1,10}$/.test(handle) ? Number(handle) : null;
}

const SIGNALS: Record<number, string> = { 1: 'SIGHUP', 2: 'SIGINT', 6: 'SIGABRT', 9: 'SIGKILL', 11: 'SIGSEGV', 13: 'SIGPIPE', 15: 'SIGTERM' };
function signalName(n: number): string {
  return SIGNALS[n] ?? `signal ${n}`;
}
