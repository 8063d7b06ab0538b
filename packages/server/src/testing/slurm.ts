/**
 * Whether tests can use a real Slurm cluster (scripts/slurm-dev-cluster.sh starts one on this machine). Tests
 * that need it skip without one, except when PERISCOPE_TEST_SLURM_REQUIRED=1 (CI): then they fail.
 */
import { execFileSync } from 'node:child_process';
import { madeTempDirs } from './databases.js';

function probe(): string | null {
  try {
    const out = execFileSync('sinfo', ['--noheader', '--Node', '--format=%N %t'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] });
    if (!/\b(idle|mix|alloc)/.test(out)) return `sinfo shows no node that takes jobs:\n${out}`;
    return null;
  } catch (error) {
    return `no Slurm cluster answers (${(error as Error).message.split('\n')[0]}); start one with scripts/slurm-dev-cluster.sh start`;
  }
}

const why = probe();

if (why && process.env.PERISCOPE_TEST_SLURM_REQUIRED === '1') {
  throw new Error(`PERISCOPE_TEST_SLURM_REQUIRED=1 but ${why}`);
}

/** `skip` for node:test: false when Slurm is there, else the reason. */
export const slurmSkip: string | false = why ?? false;

/** The dev cluster's nodes run on this machine: its processes are found as local ones are. */
export { runningHere } from './launcher.js';

/** The nodes' names as Slurm lists them. */
export function slurmNodes(): string[] {
  if (why) return [];
  return execFileSync('sinfo', ['--noheader', '--Node', '--format=%N'], { encoding: 'utf8' }).split('\n').map((l) => l.trim()).filter(Boolean);
}

/**
 * Cancels the Periscope jobs this test process left (their work dir is in one of its temp dirs): for each
 * Slurm test file's `after`, so steps a test left running or waiting for a launch (its server gone by design)
 * do not hold the dev cluster for the next file. Other processes' jobs (a bench, another file) are left alone.
 */
export function cancelPeriscopeJobs(): void {
  if (why) return;
  const ours = madeTempDirs();
  const out = execFileSync('squeue', ['--me', '--noheader', '--format=%i %j %Z'], { encoding: 'utf8' });
  const rows = out.split('\n').map((l) => l.trim().split(' '));
  const mine = rows.filter(([, name, dir]) => name?.startsWith('periscope-') && ours.some((d) => dir === d || dir?.startsWith(`${d}/`)));
  // A het job's components are `12+0`, `12+1`: cancelling the leader, 12, cancels them all.
  const ids = [...new Set(mine.map(([id]) => id!.split('+')[0]!))];
  if (ids.length > 0) execFileSync('scancel', ids);
}
