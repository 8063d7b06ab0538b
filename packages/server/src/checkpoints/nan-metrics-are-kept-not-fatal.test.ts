/**
 * A diverged loss (NaN, ±Infinity) is data, not a reason to fail: periscope.py sends it as the strings JSON
 * can carry, a bare NaN in a body (Python's plain json.dumps) is read the same way, both databases store and
 * return it, and it never becomes the best value: checkpoints rank it last.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { adminHeaders, call, create, testApp, waitForStatus } from '../testing/app.js';
import { DATABASES, tempDir } from '../testing/databases.js';

const TRAIN = `
import os, periscope
ctx = periscope.init()
for step, loss in ((1, float("nan")), (2, float("inf")), (3, 0.25)):
    ctx.report_training_metrics(step, {"loss": loss})
    ctx.report_validation_metrics(step, {"loss": loss})
    with ctx.checkpoint(step) as path:
        open(os.path.join(path, "step"), "w").write(str(step))
# What Python's json.dumps writes by default, as a user's own code might send it: bare NaN and -Infinity.
import json, urllib.request
body = json.dumps({"group": "training", "reports": [{"stepsCompleted": 9, "metrics": {"loss": float("nan"), "grad": float("-inf")}}]})
request = urllib.request.Request(os.environ["PERISCOPE_API"] + "/api/v1/trials/%s/metrics" % os.environ["PERISCOPE_TRIAL_ID"], data=body.encode(), method="POST",
                                 headers={"content-type": "application/json", "authorization": "Bearer " + os.environ["PERISCOPE_TOKEN"]})
print("bare", urllib.request.urlopen(request).status)
print("reported")
`;

for (const database of DATABASES) {
  describe(`NaN and infinite metrics on ${database.name}`, { skip: database.skip }, () => {
    it('are stored and answered as "NaN"/"Infinity", fail nothing, and rank last', async () => {
      const app = await testApp(await database.fresh());
      await app.http.listen({ host: '127.0.0.1', port: 0 });
      app.execution.setApiUrl(`http://127.0.0.1:${(app.http.server.address() as { port: number }).port}`);
      const dir = tempDir();
      writeFileSync(join(dir, 'train.py'), TRAIN);
      const id = await create(app, { meta: { name: 'nan', framework: 'Custom', cmd: `python3 ${join(dir, 'train.py')}` }, spec: { Worker: {} } });
      const done = await waitForStatus(app, id, ['Succeeded', 'Failed']);
      const log = (await call(app, 'GET', `/api/v1/experiment/logs/${id}`)).body.result.logContent[0].podLog;
      assert.equal(done.status, 'Succeeded', log.join('\n'));
      const trial = (await call(app, 'GET', `/api/v1/experiment/${id}/trials`)).body.result[0].id as number;

      const validation = (await call(app, 'GET', `/api/v1/trials/${trial}/metrics?group=validation`)).body.result.map((r: any) => r.metrics.loss);
      assert.deepEqual(validation, ['NaN', 'Infinity', 0.25]);
      const best = (await call(app, 'GET', `/api/v1/trials/${trial}/checkpoints?sortBy=loss&orderBy=asc`)).body.result.map((c: any) => c.stepsCompleted);
      assert.equal(best[0], 3, `the finite loss ranks first: ${best}`);
      const top = await call(app, 'GET', `/api/v1/experiment/${id}/checkpoints/top?sortBy=loss&smallerIsBetter=true&limit=1`);
      assert.equal(top.body.result[0].stepsCompleted, 3);

      assert.ok(log.includes('bare 200'), log.join('\n'));
      const last = (await call(app, 'GET', `/api/v1/trials/${trial}/metrics?group=training&afterSteps=8`)).body.result;
      assert.deepEqual(last.map((r: any) => r.metrics), [{ loss: 'NaN', grad: '-Infinity' }]);
      // Inside a string it stays text; a word that only starts like one is still malformed JSON.
      const quoted = await call(app, 'POST', '/api/v1/models', { name: 'm-nan', description: 'loss went NaN' });
      assert.equal(quoted.body.result.description, 'loss went NaN');
      const bad = await app.http.inject({ method: 'POST', url: '/api/v1/models', headers: { ...adminHeaders(app), 'content-type': 'application/json' }, payload: '{"name": NaNa}' });
      assert.equal(bad.statusCode, 400);
    });
  });
}
