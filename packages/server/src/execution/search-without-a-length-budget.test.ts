/**
 * A search with no maxLength (what a Determined ≥ 0.38 config converts to): the trials run with no length
 * budget (periscope.py's ctx.max_length is None), train as long as their script decides, and the search ends.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { call, create, testApp, waitForStatus } from '../testing/app.js';
import { tempDir } from '../testing/databases.js';

const TRAIN = `
import periscope
ctx = periscope.init()
assert ctx.max_length is None, ctx.max_length
x = float(ctx.hparams["x"])
for step in range(1, 4):
    ctx.report_validation_metrics(step, {"loss": (x - 3) ** 2 + 1.0 / step})
print("budget", ctx.max_length, "trained 3 steps")
`;

describe('a search without a length budget', () => {
  it('runs a grid whose trials decide their own length, and echoes the searcher without maxLength', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'train.py'), TRAIN);
    const app = await testApp(join(tempDir(), 'db.sqlite'), { capacity: { cpus: 64, memoryMb: 65536, gpus: [] } });
    await app.http.listen({ host: '127.0.0.1', port: 0 });
    app.execution.setApiUrl(`http://127.0.0.1:${(app.http.server.address() as { port: number }).port}`);
    const id = await create(app, {
      meta: { name: 'unbounded', framework: 'Custom', cmd: `python3 ${join(dir, 'train.py')}` },
      spec: { Worker: {} },
      hyperparameters: { x: { type: 'categorical', vals: [1, 3] } },
      searcher: { name: 'grid', metric: 'loss' },
    });
    const done = await waitForStatus(app, id, ['Succeeded', 'Failed'], 60_000);
    const trials = (await call(app, 'GET', `/api/v1/experiment/${id}/trials`)).body.result;
    assert.equal(done.status, 'Succeeded', JSON.stringify(trials.map((t: any) => [t.state, t.message])));
    assert.equal(done.spec.searcher.maxLength, undefined);
    assert.deepEqual(trials.map((t: any) => t.state), ['Succeeded', 'Succeeded']);
    for (const trial of trials) {
      const lines = (await call(app, 'GET', `/api/v1/trials/${trial.id}/logs?stream=stdout`)).body.result;
      assert.deepEqual(lines.map((l: any) => l.text), ['budget None trained 3 steps'], `trial ${trial.number}`);
    }
  });
});
