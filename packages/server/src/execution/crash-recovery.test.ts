/**
 * kill -9 of the server while experiments run: executors live on (their own sessions), and the next server
 * re-attaches to survivors, settles those that ended meanwhile from their exit files, resumes the queue, and
 * loses no log line or exit code.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { normalizeExperimentSpec } from '@periscope/core';
import { ExperimentStore } from '../experiments/store.js';
import { call, testApp, waitForStatus } from '../testing/app.js';
import { eventually, tempDir } from '../testing/databases.js';
import { api, start, stop } from '../testing/server-process.js';
import { groupAlive } from './local/local-launcher.js';

interface Job {
  name: string;
  exitCode: number;
  /** When its gate opens: while the server is down, or after the restart. */
  ends: 'down' | 'after';
}

const JOBS: Job[] = [
  { name: 'ends-ok-while-down', exitCode: 0, ends: 'down' },
  { name: 'ends-failing-while-down', exitCode: 4, ends: 'down' },
  { name: 'ends-ok-after-restart', exitCode: 0, ends: 'after' },
  { name: 'ends-failing-after-restart', exitCode: 2, ends: 'after' },
  { name: 'canceled-after-restart', exitCode: 0, ends: 'after' },
];

describe('crash recovery', () => {
  it('after kill -9 and a restart, five running experiments end with the right status, full logs and exit codes, and no orphan', async () => {
    const dataDir = tempDir();
    const gates = tempDir();
    const args = ['--data-dir', dataDir, '--port', '0', '--cpus', '5'];
    const first = await start(args);
    const ids = new Map<string, string>();
    for (const job of JOBS) {
      const gate = join(gates, job.name);
      spawnSync('mkfifo', [gate]);
      const created = await api(first.base, 'POST', '/api/v1/experiment', {
        meta: { name: job.name, framework: 'Custom', cmd: `echo "${job.name} started"; cat "$GATE" >/dev/null; echo "${job.name} ending"; exit ${job.exitCode}`, envVars: { GATE: gate } },
        spec: { Worker: { replicas: 1, resources: 'cpu=1' } },
      });
      ids.set(job.name, created.result.experimentId);
    }
    // A sixth cannot fit beside the five (cpu=5): it waits in the queue across the crash.
    const queued = (await api(first.base, 'POST', '/api/v1/experiment', { meta: { name: 'queued', framework: 'Custom', cmd: 'echo queued ran' }, spec: { Worker: { resources: 'cpu=1' } } })).result.experimentId;

    const pids = new Map<string, number>();
    for (const [name, id] of ids) {
      await eventually(`${name} to run and print`, async () => {
        const log = (await api(first.base, 'GET', `/api/v1/experiment/logs/${id}`)).result.logContent[0].podLog;
        return log.length === 1;
      });
      const trial = (await api(first.base, 'GET', `/api/v1/experiment/${id}/trials`)).result[0];
      pids.set(name, trial.executors[0].pid);
    }

    await stop(first, 'SIGKILL');
    for (const pid of pids.values()) assert.ok(groupAlive(pid), 'executors outlive the server');
    for (const job of JOBS.filter((j) => j.ends === 'down')) writeFileSync(join(gates, job.name), 'go\n');
    for (const job of JOBS.filter((j) => j.ends === 'down')) await eventually(`${job.name} to end while the server is down`, () => !groupAlive(pids.get(job.name)!));

    const second = await start(args);
    const status = async (name: string) => (await api(second.base, 'GET', `/api/v1/experiment/${ids.get(name)}`)).result.status;
    // Those that ended while the server was down are settled from their exit files.
    await eventually('the executors that ended while down to be settled', async () => (await status('ends-ok-while-down')) !== 'Running' && (await status('ends-failing-while-down')) !== 'Running');
    assert.equal(await status('ends-ok-while-down'), 'Succeeded');
    assert.equal(await status('ends-failing-while-down'), 'Failed');
    assert.equal(await status('ends-ok-after-restart'), 'Running');

    writeFileSync(join(gates, 'ends-ok-after-restart'), 'go\n');
    writeFileSync(join(gates, 'ends-failing-after-restart'), 'go\n');
    const canceled = await api(second.base, 'POST', `/api/v1/experiment/${ids.get('canceled-after-restart')}/cancel`);
    assert.equal(canceled.result.status, 'Failed');

    const expected: Record<string, [string, string, number | null]> = {
      'ends-ok-while-down': ['Succeeded', 'Succeeded', 0],
      'ends-failing-while-down': ['Failed', 'Failed', 4],
      'ends-ok-after-restart': ['Succeeded', 'Succeeded', 0],
      'ends-failing-after-restart': ['Failed', 'Failed', 2],
      'canceled-after-restart': ['Failed', 'Canceled', null],
    };
    for (const [name, [submarine, executorState, exitCode]] of Object.entries(expected)) {
      await eventually(`${name} to finish`, async () => ['Succeeded', 'Failed'].includes(await status(name)));
      assert.equal(await status(name), submarine, name);
      const trial = (await api(second.base, 'GET', `/api/v1/experiment/${ids.get(name)}/trials`)).result[0];
      assert.equal(trial.executors[0].state, executorState, name);
      if (exitCode !== null) assert.equal(trial.executors[0].exitCode, exitCode, name);
      const log = (await api(second.base, 'GET', `/api/v1/experiment/logs/${ids.get(name)}`)).result.logContent[0].podLog;
      assert.deepEqual(log, name === 'canceled-after-restart' ? [`${name} started`] : [`${name} started`, `${name} ending`], name);
      assert.ok(!groupAlive(pids.get(name)!), `no process of ${name} is left`);
    }
    await eventually('the queued experiment to run after the restart', async () => (await api(second.base, 'GET', `/api/v1/experiment/${queued}`)).result.status === 'Succeeded');
    assert.deepEqual((await api(second.base, 'GET', `/api/v1/experiment/logs/${queued}`)).result.logContent[0].podLog, ['queued ran']);
    await stop(second);
  });
});

describe('recovery of half-done work', () => {
  it('starts an experiment whose create was cut off after its row was written', async () => {
    const target = join(tempDir(), 'db.sqlite');
    const dataDir = tempDir();
    const first = await testApp(target, { dataDir });
    // What a crash between the two writes of a create leaves: the experiment, no trial.
    const spec = normalizeExperimentSpec({ meta: { name: 'cut-off', framework: 'Custom', cmd: 'echo recovered' }, spec: { Worker: {} } }, { lowercaseName: true, experimentId: 'experiment-1700000000000-0001' });
    await new ExperimentStore(first.db.kysely).insert({ id: 'experiment-1700000000000-0001', uid: 'u', spec, status: 'Accepted', acceptedAt: Date.now(), owner: 'admin' });
    await first.close();
    const second = await testApp(target, { dataDir });
    assert.equal((await waitForStatus(second, 'experiment-1700000000000-0001', ['Succeeded', 'Failed'])).status, 'Succeeded');
    assert.deepEqual((await call(second, 'GET', '/api/v1/experiment/logs/experiment-1700000000000-0001')).body.result.logContent[0].podLog, ['recovered']);
  });
});
