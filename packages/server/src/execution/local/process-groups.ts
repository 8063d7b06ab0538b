/**
 * The local launcher's view of processes through /proc: whether an executor's process group or wrapper still
 * runs, and finding a wrapper again after a restart. Cheap on purpose: re-attached executors are checked often.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { cgroupProcs } from './cgroups.js';
import { WRAPPER_ARGV0 } from './wrapper.js';

export function signalGroup(pid: number, signal: NodeJS.Signals): void {
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
  return aliveGroups([pgid]).has(pgid);
}

/**
 * Which of these process groups still have a live (non-zombie) process. Cheap when they run: a group whose
 * leader (the wrapper, which waits for its command) is alive needs one read of /proc/<pgid>/stat. A group whose
 * leader is gone or a zombie is looked for among its cgroup's members when `cgroupOf` names one (a zombie is
 * never listed in cgroup.procs, and nothing of the executor lives outside its cgroup); the others share one
 * scan of /proc. That scan reads every process's stat synchronously, so a cancel polling it every few ms while
 * init has not yet reaped a killed command blocked the event loop for everyone.
 */
export function aliveGroups(pgids: number[], cgroupOf: ReadonlyMap<number, string> = new Map()): Set<number> {
  const alive = new Set<number>();
  const unsure = new Set<number>();
  for (const pgid of pgids) {
    if (pgid <= 0) continue;
    try {
      process.kill(-pgid, 0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EPERM') alive.add(pgid);
      continue;
    }
    if (process.platform !== 'linux') alive.add(pgid);
    else {
      if (isLiveMember(pgid, pgid)) alive.add(pgid);
      else {
        const cgroup = cgroupOf.get(pgid);
        const members = cgroup === undefined ? null : cgroupMembers(cgroup);
        if (members === null) unsure.add(pgid);
        else if (members.some((pid) => isLiveMember(pid, pgid))) alive.add(pgid);
      }
    }
  }
  if (unsure.size === 0) return alive;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(entry);
    if (stat && unsure.has(stat.pgrp) && stat.state !== 'Z') alive.add(stat.pgrp);
  }
  return alive;
}

/** The pids in a cgroup; [] once it is removed (it could only be removed empty); null when it cannot be read. */
function cgroupMembers(dir: string): number[] | null {
  try {
    return cgroupProcs(dir);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? [] : null;
  }
}

/** Whether `pid` runs (not a zombie) in process group `pgid`. */
function isLiveMember(pid: number, pgid: number): boolean {
  const stat = procStat(String(pid));
  return stat !== null && stat.pgrp === pgid && stat.state !== 'Z';
}

/** State and process group from /proc/<pid>/stat ("pid (comm) state ppid pgrp ..."), or null if it is gone. */
function procStat(pid: string): { state: string; pgrp: number } | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null; // exited while we looked
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '', pgrp: Number(fields[2]) };
}

/** Whether the wrapper (leader of its own process group) still runs; where there is no /proc, whether its group does. */
export function wrapperAlive(pid: number): boolean {
  if (process.platform !== 'linux') return groupAlive(pid);
  return isLiveMember(pid, pid);
}

/** A recorded pid may have been reused by an unrelated process after a reboot; trust it only if it is our wrapper for this log dir. */
export async function isOurWrapper(pid: number, exitPath: string): Promise<boolean> {
  try {
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    return cmdline.includes(WRAPPER_ARGV0) && cmdline.includes(exitPath);
  } catch {
    // No /proc (not Linux): fall back to the pid being alive.
    return process.platform !== 'linux' && groupAlive(pid);
  }
}

/** The pid of the wrapper recording its exit in `exitPath`, from /proc (Linux), or null. */
export function findWrapper(exitPath: string): number | null {
  if (process.platform !== 'linux') return null;
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
