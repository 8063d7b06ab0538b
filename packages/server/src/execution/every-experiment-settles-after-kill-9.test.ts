/**
 * kill -9 of a real server process at the worst moments, then a restart: every experiment still reaches a
 * terminal state. Executors end while the server is down after it had recorded only part of their end (the
 * executor but not the trial, the trial but not the experiment), and a cancel that had reached the executors
 * (its intent stored, SIGTERM sent) ends Canceled even though the executor then exits 0 on its own.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openDatabase } from '../db/database.js';
import { eventually, tempDir } from '../testing/databases.js';
import { api, start, stop, type Started } from '../testing/server-process.js';
import { groupAlive } from './local/local-launcher.js';

async function createGated(server: Started, name: string, cmd: string, gate: string): Promise<string> {
  spawnSync('mkfifo', [gate]);
  const created = await api(server.base, 'POST', '/api/v1/experiment', {
    meta: { name, framework: 'Custom', cmd, envVars: { GATE: gate } },
    spec: { Worker: { replicas: 1, resources: 'cpu=1' } },
  });
  return created.result.experimentId;
}

async function podLog(server: Started, id: string): Promise<string[]> {
  return (await api(server.base, 'GET', `/api/v1/experiment/logs/${id}`)).result.logContent[0].podLog;
}

async function firstTrial(server: Started, id: string): Promise<any> {
  return (await api(server.base, 'GET', `/api/v1/experiment/${id}/trials`)).result[0];
}

describe('every experiment settles after kill -9', () => {
  it('settles trials and experiments whose end was only partly recorded when the server died', async () => {
    const dataDir = tempDir();
    const gates = tempDir();
    const args = ['--data-dir', dataDir, '--port', '0', '--cpus', '3'];
    const first = await start(args);
    const cmd = 'echo started; cat "$GATE" >/dev/null; echo ending';
    const ids = {
      executorRecorded: await createGated(first, 'executor-recorded', cmd, join(gates, 'a')),
      trialRecorded: await createGated(first, 'trial-recorded', cmd, join(gates, 'b')),
      nothingRecorded: await createGated(first, 'nothing-recorded', cmd, join(gates, 'c')),
    };
    const trials = new Map<string, any>();
    for (const [key, id] of Object.entries(ids)) {
      await eventually(`${key} to run`, async () => (await podLog(first, id)).length === 1);
      trials.set(key, await firstTrial(first, id));
    }
    await stop(first, 'SIGKILL');
    for (const gate of ['a', 'b', 'c']) writeFileSync(join(gates, gate), 'go\n');
    for (const [key, trial] of trials) await eventually(`${key} to end while the server is down`, () => !groupAlive(trial.executors[0].pid));

    // What a server killed part-way through recording these ends leaves behind.
    const db = await openDatabase(join(dataDir, 'periscope.db'));
    const ended = { state: 'Succeeded', exit_code: 0, finished_at: Date.now() };
    await db.kysely.updateTable('executors').set(ended).where('name', '=', trials.get('executorRecorded').executors[0].name).execute();
    await db.kysely.updateTable('executors').set(ended).where('name', '=', trials.get('trialRecorded').executors[0].name).execute();
    await db.kysely.updateTable('trials').set({ state: 'Succeeded', finished_at: Date.now() }).where('id', '=', trials.get('trialRecorded').id).execute();
    await db.close();

    const second = await start(args);
    for (const [key, id] of Object.entries(ids)) {
      const settled = await eventually(`${key} to settle after the restart`, async () => {
        const status = (await api(second.base, 'GET', `/api/v1/experiment/${id}`)).result.status;
        return ['Succeeded', 'Failed'].includes(status) && status;
      });
      assert.equal(settled, 'Succeeded', key);
      const trial = await firstTrial(second, id);
      assert.equal(trial.state, 'Succeeded', key);
      assert.equal(trial.executors[0].state, 'Succeeded', key);
      assert.equal(trial.executors[0].exitCode, 0, key);
    }
    // Their capacity is free again: all three cpus take a new gang.
    const wide = (await api(second.base, 'POST', '/api/v1/experiment', { meta: { name: 'wide', framework: 'Custom', cmd: 'echo wide' }, spec: { Worker: { replicas: 3, resources: 'cpu=1' } } })).result.experimentId;
    await eventually('a gang using every cpu to run', async () => (await api(second.base, 'GET', `/api/v1/experiment/${wide}`)).result.status === 'Succeeded');
    await stop(second);
  });

  it('an experiment whose cancel reached its executors ends Canceled after kill -9, though the executor then exits 0', async () => {
    const dataDir = tempDir();
    const gates = tempDir();
    const args = ['--data-dir', dataDir, '--port', '0', '--cpus', '2'];
    const first = await start(args);
    const gate = join(gates, 'gate');
    // A training script that shuts down cleanly on SIGTERM (after its gate opens) and exits 0.
    const id = await createGated(first, 'graceful', `trap 'echo got TERM; cat "$GATE" >/dev/null; echo bye; exit 0' TERM; echo started; while :; do sleep 0.05; done`, gate);
    await eventually('the executor to run', async () => (await podLog(first, id)).length === 1);
    const pid = (await firstTrial(first, id)).executors[0].pid;
    const cancel = api(first.base, 'POST', `/api/v1/experiment/${id}/cancel`).catch(() => 'cut off');
    await eventually('the cancel to reach the executor', async () => (await podLog(first, id)).includes('got TERM'));
    await stop(first, 'SIGKILL');
    assert.equal(await cancel, 'cut off', 'the cancel was under way (the executor holds on) when the server died');
    writeFileSync(gate, 'go\n');
    await eventually('the executor to exit 0 while the server is down', () => !groupAlive(pid));

    const second = await start(args);
    await eventually('the experiment to settle', async () => (await api(second.base, 'GET', `/api/v1/experiment/${id}`)).result.status !== 'Running');
    const experiment = (await api(second.base, 'GET', `/api/v1/experiment/${id}`)).result;
    assert.equal(experiment.status, 'Failed', 'Submarine shows Canceled as Failed');
    const trial = await firstTrial(second, id);
    assert.equal(trial.state, 'Canceled');
    assert.equal(trial.message, 'Canceled by request.');
    const log = await podLog(second, id);
    assert.deepEqual(log.filter((line) => line !== 'Terminated'), ['started', 'got TERM', 'bye'], 'it shut down cleanly, once (the shell reports its killed sleep)');
    await stop(second);
  });
});
