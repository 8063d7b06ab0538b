/**
 * `kill -9` of a real `periscope server --launcher slurm` process: the Slurm jobs run on without it; the
 * restarted server re-attaches by job id, watches a survivor to its end, and settles from Slurm's records and
 * the exit files one that ended while it was down and one whose steps were still waiting for their launch.
 */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { eventually, tempDir } from '../../testing/databases.js';
import { api, start, stop } from '../../testing/server-process.js';
import { cancelPeriscopeJobs, runningHere, slurmSkip } from '../../testing/slurm.js';

// Steps a test left waiting for their launch (its server gone on purpose) must not hold the cluster.
after(cancelPeriscopeJobs);

const custom = (cmd: string, roles: object = { Worker: { resources: 'cpu=1,memory=64M' } }) => ({ meta: { name: 'job', framework: 'Custom', cmd }, spec: roles });

describe('a Slurm server killed with kill -9', { skip: slurmSkip }, () => {
  it('is re-attached to its jobs by job id on restart, and records every end', { timeout: 110_000 }, async () => {
    const dataDir = tempDir();
    const gate = join(tempDir(), 'gate');
    const begun = join(tempDir(), 'begun');
    const marker = `${8000 + (process.pid % 1000)}.${Date.now() % 100_000}`;
    const args = ['--data-dir', dataDir, '--port', '0', '--launcher', 'slurm'];
    const first = await start(args, {});
    await eventually('the banner to name the cluster', () => /Slurm cluster: 2 node\(s\) \(node1 READY, node2 READY\)/.test(first.output()));
    const survivor = (await api(first.base, 'POST', '/api/v1/experiment', custom(`touch ${begun}; exec sh -c 'until [ -e "$1" ]; do sleep 0.05; done; echo survived' ${marker} ${gate}`))).result.experimentId;
    const early = (await api(first.base, 'POST', '/api/v1/experiment', custom('echo quick; exit 3'))).result.experimentId;
    const status = async (base: string, id: string) => (await api(base, 'GET', `/api/v1/experiment/${id}`)).result.status;
    await eventually('the survivor’s command to run', () => existsSync(begun), 30_000);
    await eventually('the early one to run', async () => (await status(first.base, early)) !== 'Accepted');
    // Killed right after this one is submitted: its steps land while the server is down and wait for their launch.
    const waiting = (await api(first.base, 'POST', '/api/v1/experiment', custom('echo launched late'))).result.experimentId;
    assert.equal(await stop(first, 'SIGKILL'), null);
    // While the server is down, the survivor runs on and the early one has ended.
    assert.equal(runningHere(marker), true, 'the survivor runs on without its server');
    const second = await start(args, {});
    await eventually('the early one to be settled', async () => ['Succeeded', 'Failed'].includes(await status(second.base, early)), 30_000);
    assert.equal(await status(second.base, early), 'Failed');
    const [trial] = (await api(second.base, 'GET', `/api/v1/experiment/${early}/trials`)).result;
    assert.match(trial.message, /exited with code 3/);
    await eventually('the waiting one to be launched', async () => (await status(second.base, waiting)) === 'Succeeded', 30_000);
    assert.deepEqual((await api(second.base, 'GET', `/api/v1/experiment/logs/${waiting}`)).result.logContent[0].podLog, ['launched late']);
    assert.equal(await status(second.base, survivor), 'Running', 're-attached, still running');
    writeFileSync(gate, '');
    await eventually('the survivor to be settled', async () => (await status(second.base, survivor)) === 'Succeeded', 30_000);
    const logs = (await api(second.base, 'GET', `/api/v1/experiment/logs/${survivor}`)).result.logContent;
    assert.deepEqual(logs[0].podLog, ['survived']);
    assert.equal(runningHere(marker), false);
    await stop(second);
  });
});
