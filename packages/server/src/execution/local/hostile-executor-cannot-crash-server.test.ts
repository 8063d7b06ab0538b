/**
 * A non-admin's job that vandalises the server's bookkeeping beside its own logs (issue 22 §1): the server keeps
 * serving everyone, the job's logs stay readable, and a restart re-attaches to the job instead of dying in
 * recovery.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { eventually, tempDir } from '../../testing/databases.js';
import { api, MAIN, start, stop } from '../../testing/server-process.js';
import { groupAlive } from './local-launcher.js';

/** The command from the issue: replaces its stdout chunk index (beside its log files) with a directory. */
const REPLACES_OLD_INDEX =
  'D=${PERISCOPE_CHECKPOINT_DIR%%/checkpoints/*}/logs/$PERISCOPE_EXPERIMENT_ID/$PERISCOPE_EXECUTOR; rm -f $D/stdout.idx; mkdir $D/stdout.idx; sleep 1; echo boom; sleep 120';
/** The same against where the server keeps the index now (reachable while executors run as the server's user). */
const REPLACES_INDEX =
  'I=${PERISCOPE_CHECKPOINT_DIR%%/checkpoints/*}/index/$PERISCOPE_EXPERIMENT_ID/$PERISCOPE_EXECUTOR; rm -rf $I/stdout.idx $I/stderr.idx; mkdir -p $I/stdout.idx; ln -s /dev/zero $I/stderr.idx; echo boom; echo err >&2; sleep 120';

async function as(base: string, token: string, method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  return response.json();
}

describe('a hostile executor', () => {
  it('cannot take the server down: others keep running, its logs stay readable, a restart re-attaches to it', async () => {
    const dataDir = tempDir();
    const args = ['--data-dir', dataDir, '--port', '0', '--cpus', '4'];
    const first = await start(args);
    assert.equal((await api(first.base, 'POST', '/api/v1/users', { username: 'mallory', password: 'mallory-password' })).status, 'OK');
    const login = await as(first.base, '', 'POST', '/api/v1/auth/login', { username: 'mallory', password: 'mallory-password' });
    const token: string = login.result.token;
    const submit = async (base: string, name: string, cmd: string) => {
      const created = await as(base, token, 'POST', '/api/v1/experiment', { meta: { name, framework: 'Custom', cmd }, spec: { Worker: { replicas: 1, resources: 'cpu=1' } } });
      assert.equal(created.status, 'OK', JSON.stringify(created));
      return created.result.experimentId as string;
    };
    const status = async (base: string, id: string) => (await as(base, token, 'GET', `/api/v1/experiment/${id}`)).result?.status;
    const podLog = async (base: string, id: string): Promise<string[]> => (await as(base, token, 'GET', `/api/v1/experiment/logs/${id}`)).result?.logContent?.[0]?.podLog ?? [];

    const hostile = [await submit(first.base, 'old-index', REPLACES_OLD_INDEX), await submit(first.base, 'new-index', REPLACES_INDEX)];
    const pids: number[] = [];
    for (const id of hostile) {
      await eventually(`${id} to print after vandalising`, async () => (await podLog(first.base, id)).includes('boom'));
      const trial = (await as(first.base, token, 'GET', `/api/v1/experiment/${id}/trials`)).result[0];
      const pid: number = trial.executors[0].pid;
      pids.push(pid);
      after(() => {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // already gone
        }
      });
    }
    // Everyone else is still served: health, and a fresh experiment that runs to the end.
    const health: any = await (await fetch(`${first.base}/api/v1/health`)).json();
    assert.equal(health.result.status, 'healthy');
    const benign = await submit(first.base, 'benign', 'echo fine');
    await eventually('the benign experiment to succeed', async () => (await status(first.base, benign)) === 'Succeeded');
    assert.deepEqual(await podLog(first.base, benign), ['fine']);
    for (const id of hostile) assert.equal(await status(first.base, id), 'Running');
    assert.equal(first.child.exitCode, null, first.output());
    // The vandalised index is reported against the executor it concerns.
    const damagedLine = (executor: string) => first.output().split('\n').some((line) => line.includes('executor logs damaged') && line.includes(executor));
    await eventually('the damaged index to be logged', () => damagedLine(`${hostile[1]}-worker-0`));
    assert.ok(!damagedLine(`${hostile[0]}-worker-0`), 'a directory where the old index was is no damage');

    await stop(first, 'SIGKILL');
    for (const pid of pids) assert.ok(groupAlive(pid), 'the hostile executors outlive the server');
    const second = await start(args);
    for (const id of hostile) {
      assert.equal(await status(second.base, id), 'Running', id);
      assert.ok((await podLog(second.base, id)).includes('boom'), id);
    }
    const again: any = await (await fetch(`${second.base}/api/v1/health`)).json();
    assert.equal(again.result.status, 'healthy');
    for (const id of hostile) {
      const canceled = await as(second.base, token, 'POST', `/api/v1/experiment/${id}/cancel`);
      assert.equal(canceled.result.status, 'Failed', JSON.stringify(canceled));
    }
    for (const pid of pids) await eventually('the canceled executors to be gone', () => !groupAlive(pid));
    assert.equal(second.child.exitCode, null, second.output());
    assert.equal(await stop(second), 0);
  });

});

describe('the server process guard', () => {
  it('logs an error that escaped a background task (a rejection nobody awaited, a throw in a callback) and keeps serving', async () => {
    // Stands in for a fault nobody handled: on SIGUSR2 the server process rejects a promise nobody awaits and
    // throws from a callback.
    const fault = join(tempDir(), 'fault.mjs');
    writeFileSync(fault, "process.on('SIGUSR2', () => { void Promise.reject(new Error('injected rejection')); setImmediate(() => { throw new Error('injected exception'); }); });\n");
    const started = await start(['--data-dir', tempDir(), '--port', '0'], {}, [process.execPath, '--import', 'tsx', '--import', fault, MAIN]);
    started.child.kill('SIGUSR2');
    await eventually('both faults to be logged', () => started.output().includes('injected rejection') && started.output().includes('injected exception'));
    assert.match(started.output(), /unhandled rejection \(the server keeps serving\)/);
    assert.match(started.output(), /uncaught exception \(the server keeps serving\)/);
    const health: any = await (await fetch(`${started.base}/api/v1/health`)).json();
    assert.equal(health.result.status, 'healthy');
    assert.equal(started.child.exitCode, null);
    assert.equal(await stop(started), 0);
  });
});
