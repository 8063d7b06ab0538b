import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, readdirSync, readlinkSync, readFileSync } from 'node:fs';

/** Resident set size of a process in MB (from /proc), or null where there is no /proc. */
export function rssMb(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/**
 * Runs `sh -c command` with stdout going straight to a file (as an executor's does) and resolves with its
 * exit code. The shared baseline of the spawn-based benchmarks.
 */
export async function shToFile(command: string, stdoutPath: string): Promise<number | null> {
  const fd = openSync(stdoutPath, 'w');
  let child: ChildProcess;
  try {
    child = spawn('sh', ['-c', command], { stdio: ['ignore', fd, 'ignore'] });
  } finally {
    closeSync(fd);
  }
  const [code] = (await once(child, 'exit')) as [number | null];
  return code;
}

/**
 * Pids of processes whose working directory lies under `dir`: the executors a server started in its data dir.
 * They run detached in their own process groups (so they outlive a server crash), so stopping the server does
 * not stop them; the suite kills them by pid.
 */
export function processesUnder(dir: string): number[] {
  const pids: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return pids;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cwd = readlinkSync(`/proc/${entry}/cwd`);
      if (cwd === dir || cwd.startsWith(`${dir}/`)) pids.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

export function killQuietly(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}
