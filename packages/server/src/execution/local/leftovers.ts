/**
 * Finding what an executor left running where there is no cgroup to hold it (no cgroup v2, or not writable by
 * this user): one scan of /proc, only when an executor ends or is cancelled — never while it runs.
 *
 * A process belongs to the executor when its session or process group is the wrapper's (only while the wrapper's
 * pid is surely ours: not after a restart found it dead), when it was seen as the executor's before (same pid
 * and start time), when its environment carries the executor's marker (`PERISCOPE_EXECUTOR_TAG=<tag>`, which
 * every executor gets and its children inherit, through setsid and double forks), or when its parent belongs.
 * What escapes: a daemon that scrubbed its environment (`env -i`, or a program that sets its own) after leaving
 * the executor's session, once its parent has ended. Only a cgroup catches that one.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';

/** The variable that marks an executor's processes: its tag (see executorTag), unique per executor and data dir. */
export const EXECUTOR_TAG_VAR = 'PERISCOPE_EXECUTOR_TAG';

interface ProcEntry {
  pid: number;
  ppid: number;
  pgrp: number;
  session: number;
  /** Start time in clock ticks since boot: with the pid, names a process even after pids are reused. */
  start: string;
}

/** Processes seen as the executor's, by pid, with their start time. */
export type KnownProcesses = Map<number, string>;

export interface Owner {
  tag: string;
  /** The wrapper's pid (its session and process group id), when it is known to be ours; null after a restart found it dead. */
  wrapperPid: number | null;
  known?: KnownProcesses;
}

/** Every live (non-zombie) process but this one. */
function scan(): ProcEntry[] {
  const entries: ProcEntry[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // "pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime priority nice threads itrealvalue starttime ..."
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z') continue;
      entries.push({ pid: Number(name), ppid: Number(fields[1]), pgrp: Number(fields[2]), session: Number(fields[3]), start: fields[19] ?? '' });
    } catch {
      // exited while we looked
    }
  }
  return entries;
}

function carriesTag(pid: number, marker: string): boolean {
  try {
    return `\0${readFileSync(`/proc/${pid}/environ`, 'latin1')}`.includes(marker);
  } catch {
    return false; // gone, or another user's
  }
}

/** The executor's processes now (the wrapper included while it lives). */
export function executorProcesses(owner: Owner): KnownProcesses {
  const entries = scan();
  const marker = `\0${EXECUTOR_TAG_VAR}=${owner.tag}\0`;
  const ours: KnownProcesses = new Map();
  for (const p of entries) {
    const byWrapper = owner.wrapperPid !== null && (p.pid === owner.wrapperPid || p.session === owner.wrapperPid || p.pgrp === owner.wrapperPid);
    if (byWrapper || owner.known?.get(p.pid) === p.start || carriesTag(p.pid, marker)) ours.set(p.pid, p.start);
  }
  // Descendants of what belongs, to a fixed point (a child may be listed before its parent).
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of entries) {
      if (!ours.has(p.pid) && ours.has(p.ppid)) {
        ours.set(p.pid, p.start);
        grew = true;
      }
    }
  }
  return ours;
}

/** How long the rounds of scan-and-kill may go on (a fork bomb outruns us; the rest is gone in a round or two). */
const KILL_DEADLINE_MS = 10_000;

/**
 * SIGKILLs the executor's processes, scanning again until none is left (what forked meanwhile is found in the
 * next round). Returns how many distinct processes it killed.
 */
export async function killExecutorProcesses(owner: Owner): Promise<number> {
  if (process.platform !== 'linux') return 0;
  const killed = new Set<string>();
  const deadline = Date.now() + KILL_DEADLINE_MS;
  for (;;) {
    const ours = executorProcesses(owner);
    if (ours.size === 0) return killed.size;
    for (const [pid, start] of ours) {
      killed.add(`${pid}@${start}`);
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    if (Date.now() > deadline) throw new Error(`executor ${owner.tag} still has ${[...ours.keys()].join(', ')} after ${KILL_DEADLINE_MS} ms`);
    // Killed processes linger a moment before they are zombies; remember them so the next round still knows them.
    owner = { ...owner, known: new Map([...(owner.known ?? []), ...ours]) };
    await delay(5);
  }
}
