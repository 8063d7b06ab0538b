/** Training code (python/periscope.py in a real Python process) reports metrics and checkpoints. */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { extract } from 'tar';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { App } from '../app.js';
import { adminHeaders, call, create, testApp, waitForStatus } from '../testing/app.js';
import { tempDir } from '../testing/databases.js';

/** Minimizes (x - 3)^2 by steps; saves a checkpoint every 5 steps; crashes once after step 10 when CRASH_ONCE is set. */
const TRAIN = `
import json, os, sys, periscope
ctx = periscope.init()
x = float(ctx.hparams.get("x", 0.0))
start = 0
if ctx.latest_checkpoint:
    start = json.load(open(os.path.join(ctx.latest_checkpoint, "state.json")))["step"]
    print("resumed from step", start)
for step in range(start + 1, 21):
    loss = (x - 3) ** 2 + 1.0 / step
    ctx.report_training_metrics(step, {"loss": loss})
    if step % 5 == 0:
        ctx.report_validation_metrics(step, {"loss": loss, "accuracy": 1.0 / (1.0 + loss)})
        with ctx.checkpoint(step, {"note": "step %d" % step}) as path:
            json.dump({"step": step, "x": x}, open(os.path.join(path, "state.json"), "w"))
            os.makedirs(os.path.join(path, "weights"))
            open(os.path.join(path, "weights", "w.bin"), "wb").write(bytes(range(256)) * step)
    marker = os.environ.get("CRASH_ONCE")
    if marker and step == 10 and not os.path.exists(marker):
        open(marker, "w").write("crashed")
        sys.exit(17)
print("searcher", json.dumps({"maxLength": ctx.max_length, "shouldStop": ctx.should_stop()}))
`;

async function listening(app: App): Promise<string> {
  await app.http.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.http.server.address() as { port: number }).port}`;
  app.execution.setApiUrl(base);
  return base;
}

describe('training-side API', () => {
  it('records metrics and checkpoints from periscope.py, ranks and downloads them, and resumes a restarted trial from its latest checkpoint', async () => {
    const app = await testApp(join(tempDir(), 'db.sqlite'));
    const base = await listening(app);
    const dir = tempDir();
    writeFileSync(join(dir, 'train.py'), TRAIN);
    const id = await create(app, {
      meta: { name: 'train', framework: 'Custom', cmd: `python3 ${join(dir, 'train.py')}`, envVars: { CRASH_ONCE: join(dir, 'crashed') } },
      spec: { Worker: {} },
      maxRestarts: 1,
    });
    const done = await waitForStatus(app, id, ['Succeeded', 'Failed']);
    const log = (await call(app, 'GET', `/api/v1/experiment/logs/${id}`)).body.result.logContent[0].podLog;
    assert.equal(done.status, 'Succeeded', log.join('\n'));
    assert.ok(log.includes('resumed from step 10'), 'the restart resumed from the checkpoint at step 10');
    assert.ok(log.includes('searcher {"maxLength": null, "shouldStop": false}'));
    const trial = (await call(app, 'GET', `/api/v1/experiment/${id}/trials`)).body.result[0];
    assert.equal(trial.restarts, 1);

    const validation = (await call(app, 'GET', `/api/v1/trials/${trial.id}/metrics?group=validation`)).body.result;
    // Steps 5 and 10 were reported before the crash, 15 and 20 after the resume.
    assert.deepEqual(validation.map((r: any) => r.stepsCompleted), [5, 10, 15, 20]);
    const training = (await call(app, 'GET', `/api/v1/trials/${trial.id}/metrics?group=training&afterSteps=18`)).body.result;
    assert.deepEqual(training.map((r: any) => r.stepsCompleted), [19, 20]);

    const checkpoints = (await call(app, 'GET', `/api/v1/trials/${trial.id}/checkpoints?sortBy=loss&orderBy=asc`)).body.result;
    assert.deepEqual(checkpoints.map((c: any) => c.stepsCompleted), [20, 15, 10, 5], 'lowest loss first');
    const best = checkpoints[0];
    assert.deepEqual(Object.keys(best.resources).sort(), ['state.json', 'weights/w.bin']);
    assert.equal(best.resources['weights/w.bin'], 256 * 20);
    assert.deepEqual(best.metadata, { note: 'step 20' });
    assert.equal(best.training.validationMetrics.loss, 1 / 20 + 9);

    const top = (await call(app, 'GET', `/api/v1/experiment/${id}/checkpoints/top?sortBy=accuracy&smallerIsBetter=false`)).body.result;
    assert.deepEqual(top.map((c: any) => c.uuid), [best.uuid]);
    const unknownMetric = await call(app, 'GET', `/api/v1/experiment/${id}/checkpoints/top?sortBy=f1`);
    assert.equal(unknownMetric.status, 400);
    assert.match(unknownMetric.body.message, /no checkpoint of .* has a validation metric "f1"/);

    // Download: the archive holds the same bytes the training code wrote.
    const response = await fetch(`${base}/api/v1/checkpoints/${best.uuid}/download`, { headers: adminHeaders(app) });
    assert.equal(response.headers.get('content-type'), 'application/x-tar');
    const out = tempDir();
    await pipeline(Readable.fromWeb(response.body as any), extract({ cwd: out }));
    assert.deepEqual(readFileSync(join(out, 'weights', 'w.bin')), Buffer.from(new Uint8Array(Array.from({ length: 256 * 20 }, (_, i) => i % 256))));
    assert.deepEqual(JSON.parse(readFileSync(join(out, 'state.json'), 'utf8')), { step: 20, x: 0 });
    assert.equal(readFileSync(join(out, 'state.json')).length, best.resources['state.json']);

    const patched = await call(app, 'PATCH', `/api/v1/checkpoints/${best.uuid}/metadata`, { add: { tag: 'best' }, remove: ['note'] });
    assert.deepEqual(patched.body.result.metadata, { tag: 'best' });
    const deleted = await call(app, 'DELETE', `/api/v1/checkpoints/${best.uuid}`);
    assert.equal(deleted.body.result.state, 'DELETED');
    assert.equal((await fetch(`${base}/api/v1/checkpoints/${best.uuid}/download`, { headers: adminHeaders(app) })).status, 409);
    assert.equal((await call(app, 'GET', '/api/v1/checkpoints/00000000-0000-0000-0000-000000000000')).status, 404);
    assert.equal((await call(app, 'GET', '/api/v1/checkpoints/not-a-uuid')).status, 400);

    const late = await call(app, 'POST', `/api/v1/trials/${trial.id}/metrics`, { group: 'training', reports: [{ stepsCompleted: 21, metrics: { loss: 1 } }] });
    assert.equal(late.status, 409);
    assert.match(late.body.message, /has ended \(Succeeded\); it takes no more reports/);
  });

  it('refuses checkpoints without files, duplicate uuids and malformed reports', async () => {
    const app = await testApp(join(tempDir(), 'db.sqlite'));
    const id = await create(app, { meta: { name: 'parked', framework: 'Custom', cmd: 'true' }, spec: { Worker: {} }, autoStart: false });
    await waitForStatus(app, id, ['Created']);
    const trial = (await call(app, 'GET', `/api/v1/experiment/${id}/trials`)).body.result[0];
    const uuid = '6f0c1a52-8f0e-4bb4-9d2e-3b1f9d0c7a11';
    const missing = await call(app, 'POST', `/api/v1/trials/${trial.id}/checkpoints`, { uuid, stepsCompleted: 1 });
    assert.equal(missing.status, 400);
    assert.match(missing.body.message, /no checkpoint files under/);
    mkdirSync(join(app.execution.layout.checkpointDir(id, 1), uuid), { recursive: true });
    writeFileSync(join(app.execution.layout.checkpointDir(id, 1), uuid, 'model'), 'weights');
    assert.equal((await call(app, 'POST', `/api/v1/trials/${trial.id}/checkpoints`, { uuid, stepsCompleted: 1 })).status, 200);
    assert.equal((await call(app, 'POST', `/api/v1/trials/${trial.id}/checkpoints`, { uuid, stepsCompleted: 1 })).status, 409);
    assert.equal((await call(app, 'POST', `/api/v1/trials/${trial.id}/checkpoints`, { uuid: '../../etc', stepsCompleted: 1 })).status, 400);
    assert.equal((await call(app, 'POST', `/api/v1/trials/${trial.id}/metrics`, { group: 'test', reports: [{ stepsCompleted: 1, metrics: {} }] })).status, 400);
    assert.equal((await call(app, 'POST', `/api/v1/trials/${trial.id}/metrics`, { group: 'training', reports: [{ stepsCompleted: -1, metrics: {} }] })).status, 400);
    assert.equal((await call(app, 'POST', `/api/v1/trials/${trial.id}/metrics`, { group: 'training', reports: [{ stepsCompleted: 1, metrics: { loss: 'low' } }] })).status, 400);
    assert.equal((await call(app, 'POST', '/api/v1/trials/99999/metrics', { group: 'training', reports: [{ stepsCompleted: 1, metrics: {} }] })).status, 404);
  });
});
