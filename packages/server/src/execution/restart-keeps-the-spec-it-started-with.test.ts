/**
 * A spec change applies to the next run only: PATCHing a running experiment's roles, then a maxRestarts
 * restart, runs the executors the run started with (and tracks them), so the experiment still ends.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { call, create, testApp, waitForStatus } from '../testing/app.js';
import { eventually, tempDir } from '../testing/databases.js';

describe('a restart after a PATCH', () => {
  it('runs the roles the run started with, and the experiment ends', async () => {
    const dir = tempDir();
    const counter = join(dir, 'attempts');
    const gate = join(dir, 'gate');
    const app = await testApp(join(tempDir(), 'db.sqlite'));
    // The first attempt waits for its gate and fails; the second succeeds.
    const cmd = 'echo x >> "$COUNTER"; if [ "$(wc -l < "$COUNTER")" -ge 2 ]; then exit 0; fi; while [ ! -e "$GATE" ]; do sleep 0.01; done; exit 3';
    const spec = { meta: { name: 'patched', framework: 'Custom', cmd, envVars: { COUNTER: counter, GATE: gate } }, spec: { Worker: { replicas: 1 } }, maxRestarts: 1 };
    const id = await create(app, spec);
    await waitForStatus(app, id, ['Running']);
    await eventually('the first attempt to start', async () => (await readFile(counter, 'utf8').catch(() => '')).length > 0);
    const patched = await call(app, 'PATCH', `/api/v1/experiment/${id}`, { ...spec, spec: { Worker: { replicas: 2 }, Ps: { replicas: 1 } } });
    assert.equal(patched.status, 200);
    assert.deepEqual(Object.keys(patched.body.result.spec.spec).sort(), ['Ps', 'Worker'], 'the stored spec is the new one');
    await writeFile(gate, 'go\n');

    assert.equal((await waitForStatus(app, id, ['Succeeded', 'Failed'])).status, 'Succeeded');
    const trial = (await call(app, 'GET', `/api/v1/experiment/${id}/trials`)).body.result[0];
    assert.equal(trial.restarts, 1);
    assert.deepEqual(trial.executors.map((e: { name: string; state: string }) => [e.name, e.state]), [[`${id}-worker-0`, 'Succeeded']], 'the restart ran what the run started with');
    assert.equal((await readFile(counter, 'utf8')).split('\n').filter(Boolean).length, 2);
  });
});
