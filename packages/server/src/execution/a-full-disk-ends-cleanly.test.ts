/**
 * A full disk (issue 22 §2): the data dir on a small tmpfs that a job fills with output. The server keeps
 * answering while the disk is full, and once space is freed again every experiment reaches its end with
 * nothing lost: the job that filled the disk ends, a job that ended while the disk was full is settled, and new
 * work runs. Needs root to mount a tmpfs; skipped (saying why) elsewhere.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { eventually } from '../testing/databases.js';
import { api, start, stop } from '../testing/server-process.js';

function mountTmpfs(dir: string, size: string): string | false {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return 'mounting a tmpfs needs root on Linux';
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  return mounted.status === 0 ? false : `mount -t tmpfs failed: ${mounted.stderr.trim()}`;
}

const root = mkdtempSync(join(tmpdir(), 'periscope-full-disk-'));
const dataDir = join(root, 'data');
mkdirSync(dataDir);
const cannotMount = mountTmpfs(dataDir, '24m');
// Unmounted before the dir goes (one hook, in that order), whatever the test did.
after(() => {
  if (!cannotMount) spawnSync('umount', ['-l', dataDir]);
  rmSync(root, { recursive: true, force: true });
});

it('a job that fills the disk cannot wedge the server: it keeps answering, and everything ends once space is back', { skip: cannotMount }, async () => {
  const server = await start(['--data-dir', dataDir, '--port', '0', '--cpus', '4']);
  const submit = async (name: string, cmd: string) => {
    const created = await api(server.base, 'POST', '/api/v1/experiment', { meta: { name, framework: 'Custom', cmd }, spec: { Worker: { resources: 'cpu=0.5,memory=64M' } } });
    assert.equal(created.status, 'OK', JSON.stringify(created));
    return created.result.experimentId as string;
  };
  const status = async (id: string) => (await api(server.base, 'GET', `/api/v1/experiment/${id}`)).result?.status as string | undefined;

  // A job that waits for a file, then ends well; it ends while the disk is full.
  const gate = join(root, 'gate');
  // It writes nothing at its end: an echo could meet the full disk and fail the job for a reason of its own.
  const patient = await submit('patient', `until [ -e ${gate} ]; do sleep 0.05; done`);
  await eventually('the patient job to run', async () => (await status(patient)) === 'Running');
  // The filler writes until the disk is full, then waits (its output is what fills it).
  const filler = await submit('filler', 'yes 0123456789abcdef0123456789abcdef 2>/dev/null; sleep 600');
  await eventually('the disk to fill up', () => {
    const df = spawnSync('df', ['--output=avail', '-B1', dataDir], { encoding: 'utf8' }).stdout.trim().split('\n').at(-1);
    return Number(df) < 64 * 1024;
  }, 60_000);

  // The server still answers while the disk is full (healthy or not: the store may still have room in its
  // write-ahead log), and the job that ends now cannot record much of anything.
  const health = await fetch(`${server.base}/api/v1/health`, { signal: AbortSignal.timeout(10_000) });
  assert.ok([200, 503].includes(health.status), `health answered ${health.status}`);
  // Work submitted now is either taken (and then runs once there is space) or refused, never left half-made.
  const during: string[] = [];
  for (let i = 0; i < 20; i++) {
    const answer = await api(server.base, 'POST', '/api/v1/experiment', { meta: { name: `during-${i}`, framework: 'Custom', cmd: 'echo during' }, spec: { Worker: { resources: 'cpu=0.1,memory=32M' } } });
    if (answer.status === 'OK') during.push(answer.result.experimentId);
    // Refused: a clear 503 saying why, never a 500.
    else assert.match(`${answer.code} ${answer.message}`, /^503 The server cannot store anything now: .*disk is full/, `create while the disk is full answered ${answer.code} ${answer.message}`);
  }
  spawnSync('touch', [gate]);

  // Space comes back: the filler's output is truncated (as an operator would clean up), and it is cancelled.
  for (const executor of readdirSync(join(dataDir, 'logs', filler))) truncateSync(join(dataDir, 'logs', filler, executor, 'stdout'), 0);
  await eventually('health to be good again', async () => (await fetch(`${server.base}/api/v1/health`)).status === 200, 30_000);
  const canceled = await api(server.base, 'POST', `/api/v1/experiment/${filler}/cancel`);
  assert.equal(canceled.status, 'OK', JSON.stringify(canceled));

  // The job that ended while nothing could be written is settled from its exit record, and new work runs.
  await eventually('the patient job to be settled', async () => ['Succeeded', 'Failed'].includes((await status(patient)) ?? ''), 30_000);
  assert.equal(await status(patient), 'Succeeded', server.output());
  assert.equal(await status(filler), 'Failed'); // Submarine's word for Canceled
  for (const id of during) {
    await eventually(`${id}, taken while the disk was full, to end`, async () => ['Succeeded', 'Failed'].includes((await status(id)) ?? ''), 30_000);
  }
  const fresh = await submit('fresh', 'echo fine');
  await eventually('new work to run after the disk was full', async () => (await status(fresh)) === 'Succeeded', 30_000);
  assert.equal(server.child.exitCode, null, 'the server is still running');
  await stop(server);
});
