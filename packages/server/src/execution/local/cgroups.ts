/**
 * One cgroup v2 per executor (Linux), so that everything it starts — background children, setsid daemons,
 * double forks, even a daemon that scrubbed its environment — can be found and killed when it ends.
 *
 * Executor cgroups are children of the cgroup the server runs in, named `periscope-<executor>-<hash of its log
 * dir>` (the hash keeps two data dirs on one host apart). A cgroup is not tied to the lifetime of any process:
 * when the server dies the executor keeps running in it, and a restarted server finds it by that name (or
 * through the wrapper's /proc/<pid>/cgroup). No controllers are enabled: the cgroup only groups processes, so
 * creating one needs nothing but write access to the server's own cgroup (root, or a delegated subtree such as
 * a systemd user session or a unit with Delegate=yes).
 */
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

/** Where executor cgroups go, or why there are none. */
export type CgroupSupport = { mount: string; base: string } | { unavailable: string };

/**
 * The cgroup v2 hierarchy's mount point and the server's own cgroup dir in it, when we may create children
 * there. Works on a pure v2 host (/sys/fs/cgroup) and a hybrid one (/sys/fs/cgroup/unified).
 */
export function cgroupSupport(): CgroupSupport {
  if (process.platform !== 'linux') return { unavailable: 'not Linux' };
  let own: string | undefined;
  let mountinfo: string;
  try {
    own = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((line) => line.startsWith('0::'))?.slice(3);
    mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch (error) {
    return { unavailable: `cannot read /proc/self: ${(error as Error).message}` };
  }
  if (own === undefined) return { unavailable: 'no cgroup v2 hierarchy (no 0:: line in /proc/self/cgroup)' };
  // "id parent major:minor root mount-point options [optional...] - fstype source super-options"
  const mount = mountinfo
    .split('\n')
    .map((line) => line.split(' '))
    .find((fields) => fields[fields.indexOf('-') + 1] === 'cgroup2');
  if (!mount) return { unavailable: 'cgroup2 is not mounted' };
  const root = unescape(mount[3]!);
  const point = unescape(mount[4]!);
  // Our path is relative to the mount's root (they differ when a subtree is bind-mounted into a container).
  if (root !== '/' && own !== root && !own.startsWith(`${root}/`)) return { unavailable: `our cgroup ${own} is outside the mounted ${root}` };
  const base = join(point, root === '/' ? own : own.slice(root.length));
  if (!existsSync(join(base, 'cgroup.controllers'))) return { unavailable: `${base} is not a cgroup v2 dir` };
  try {
    accessSync(base, constants.W_OK);
    accessSync(join(base, 'cgroup.procs'), constants.W_OK);
  } catch {
    return { unavailable: `${base} is not writable by this user (no delegated cgroup)` };
  }
  return { mount: point, base };
}

/** mountinfo escapes space, tab, newline and backslash as octal. */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** The executor's cgroup name, also its marker in the environment: stable across restarts, unique per data dir. */
export function executorTag(name: string, logDir: string): string {
  const hash = createHash('sha256').update(logDir).digest('hex').slice(0, 12);
  return `periscope-${name.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 120)}-${hash}`;
}

/**
 * Creates the executor's cgroup (killing and removing a stale one of the same name first: the executor it
 * belonged to has ended, or it would not be started again). Throws when the dir cannot be made.
 */
export async function createCgroup(support: { base: string }, tag: string): Promise<string> {
  const dir = join(support.base, tag);
  if (existsSync(dir)) await killCgroup(dir);
  mkdirSync(dir);
  return dir;
}

/**
 * Moves a process (the wrapper, before it starts the command) into the cgroup; its children are born there.
 * Asynchronous on purpose: the kernel holds a migration until an RCU grace period has passed (7–14 ms measured
 * here), which a synchronous write spent blocking the server's event loop for every executor started.
 */
export async function joinCgroup(dir: string, pid: number): Promise<void> {
  await writeFile(join(dir, 'cgroup.procs'), `${pid}\n`);
}

/**
 * The executor's cgroup after a restart: the one the live wrapper is in, when it is an executor cgroup of this
 * name, else `<base>/<tag>` if it exists. Null when there is none (started without one).
 */
export function findCgroup(support: CgroupSupport, tag: string, wrapperPid: number | null): string | null {
  if ('unavailable' in support) return null;
  if (wrapperPid !== null) {
    try {
      const path = readFileSync(`/proc/${wrapperPid}/cgroup`, 'utf8').split('\n').find((line) => line.startsWith('0::'))?.slice(3);
      if (path !== undefined && path.endsWith(`/${tag}`)) {
        const dir = join(support.mount, path);
        if (existsSync(join(dir, 'cgroup.procs'))) return dir;
      }
    } catch {
      // the wrapper is gone: look by name
    }
  }
  const dir = join(support.base, tag);
  return existsSync(join(dir, 'cgroup.procs')) ? dir : null;
}

/**
 * Removes empty executor cgroups under `base` older than `minAgeMs`: those of executors that ended while no
 * server settled them (a data dir deleted while its server was down, a test app closed with executors running).
 * rmdir refuses a cgroup that still holds a process, so nothing running is touched; the age keeps it away from a
 * cgroup another server has just made and not yet moved its wrapper into. Returns how many it removed.
 */
export function removeEmptyCgroups(base: string, minAgeMs: number): number {
  let removed = 0;
  let names: string[];
  try {
    names = readdirSync(base).filter((name) => name.startsWith('periscope-'));
  } catch {
    return 0;
  }
  for (const name of names) {
    const dir = join(base, name);
    try {
      if (Date.now() - statSync(dir).ctimeMs < minAgeMs || populated(dir, [0])) continue;
      rmdirSync(dir);
      removed += 1;
    } catch {
      // busy (it runs), gone, or not ours to remove
    }
  }
  return removed;
}

/** How long killing a cgroup may take before we give up on removing it (it is retried when the name is reused). */
const KILL_DEADLINE_MS = 10_000;

/**
 * SIGKILLs every process in the cgroup (cgroup.kill on kernels ≥ 5.14, which also catches processes forking
 * while it runs; else SIGKILL each pid in cgroup.procs until none is left), waits until it is empty and removes
 * it. Returns how many live processes it held. A cgroup that is already gone holds none. `viaKillFile` is
 * whether to use cgroup.kill (default: when the kernel has it).
 */
export async function killCgroup(dir: string, viaKillFile = existsSync(join(dir, 'cgroup.kill'))): Promise<number> {
  const found = new Set<number>();
  const members = (): number[] | null => {
    try {
      return cgroupProcs(dir);
    } catch {
      return null; // removed already
    }
  };
  const first = members();
  if (first === null) return 0;
  for (const pid of first) if (!isZombie(pid)) found.add(pid);
  const hasKill = viaKillFile;
  if (hasKill && first.length > 0) writeFileSync(join(dir, 'cgroup.kill'), '1\n');
  const deadline = Date.now() + KILL_DEADLINE_MS;
  for (;;) {
    const now = members();
    if (now === null) return found.size;
    if (!populated(dir, now)) break;
    if (!hasKill) {
      for (const pid of now) {
        if (!isZombie(pid)) found.add(pid);
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    if (Date.now() > deadline) throw new Error(`cgroup ${dir} still holds ${now.join(', ')} after ${KILL_DEADLINE_MS} ms`);
    await delay(5);
  }
  for (;;) {
    try {
      rmdirSync(dir);
      return found.size;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return found.size;
      // EBUSY while the kernel finishes tearing down the last exiting process.
      if (code !== 'EBUSY' || Date.now() > deadline) throw error;
      await delay(5);
    }
  }
}

/** The pids in the cgroup's cgroup.procs (a zombie is never listed); throws when it cannot be read (removed). */
export function cgroupProcs(dir: string): number[] {
  return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
}

/** Whether the cgroup still has processes: cgroup.events says so (kernel ≥ 4.x); else its process list. */
function populated(dir: string, members: number[]): boolean {
  try {
    return /^populated 1$/m.test(readFileSync(join(dir, 'cgroup.events'), 'utf8'));
  } catch {
    return members.length > 0;
  }
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z';
  } catch {
    return true; // gone
  }
}
