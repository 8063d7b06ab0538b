/** Hyperparameter search end to end: real Python trials report through periscope.py; the searcher drives them. */
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import type { App } from '../app.js';
import { call, create, testApp, waitForStatus } from '../testing/app.js';
import { eventually, tempDir } from '../testing/databases.js';

/** Minimizes (x - 3)^2: the loss falls with steps towards its floor; resumes from its latest checkpoint. */
const TRAIN = `
import json, os, periscope
ctx = periscope.init()
x = float(ctx.hparams["x"])
start = 0
if ctx.latest_checkpoint:
    start = json.load(open(os.path.join(ctx.latest_checkpoint, "state.json")))["step"]
length = int(ctx.max_length)
for step in range(start + 1, length + 1):
    loss = (x - 3) ** 2 + 10.0 / step
    ctx.report_training_metrics(step, {"loss": loss})
    if step % 2 == 0 or step == length:
        ctx.report_validation_metrics(step, {"loss": loss})
        with ctx.checkpoint(step) as path:
            json.dump({"step": step}, open(os.path.join(path, "state.json"), "w"))
    if ctx.should_stop():
        break
print("trained", start, "->", step)
`;

async function search(hyperparameters: object, searcher: object): Promise<{ app: App; id: string; trials: any[] }> {
  const dir = tempDir();
  writeFileSync(join(dir, 'train.py'), TRAIN);
  const app = await testApp(join(tempDir(), 'db.sqlite'), { capacity: { cpus: 64, memoryMb: 65536, gpus: [] } });
  await app.http.listen({ host: '127.0.0.1', port: 0 });
  app.execution.setApiUrl(`http://127.0.0.1:${(app.http.server.address() as { port: number }).port}`);
  const id = await create(app, {
    meta: { name: 'search', framework: 'Custom', cmd: `python3 ${join(dir, 'train.py')}` },
    spec: { Worker: {} },
    hyperparameters,
    searcher: { metric: 'loss', smallerIsBetter: true, ...searcher },
  });
  const done = await waitForStatus(app, id, ['Succeeded', 'Failed'], 120_000);
  const trials = (await call(app, 'GET', `/api/v1/experiment/${id}/trials`)).body.result;
  assert.equal(done.status, 'Succeeded', JSON.stringify(trials.map((t: any) => [t.state, t.message])));
  return { app, id, trials };
}

describe('hyperparameter search', () => {
  it('single: one trial trained to maxLength', async () => {
    const { trials } = await search({ x: 2 }, { name: 'single', maxLength: 6 });
    assert.equal(trials.length, 1);
    assert.deepEqual(trials[0].hparams, { x: 2 });
    assert.equal(trials[0].state, 'Succeeded');
  });

  it('grid: exactly the Cartesian product of the grid', async () => {
    const { trials } = await search({ x: { type: 'int', minval: 0, maxval: 4, count: 5 }, opt: { type: 'categorical', vals: ['sgd', 'adam'] } }, { name: 'grid', maxLength: 2, maxConcurrentTrials: 4 });
    const seen = trials.map((t: any) => `${t.hparams.x}/${t.hparams.opt}`).sort();
    assert.deepEqual(seen, ['0/adam', '0/sgd', '1/adam', '1/sgd', '2/adam', '2/sgd', '3/adam', '3/sgd', '4/adam', '4/sgd']);
    assert.ok(trials.every((t: any) => t.state === 'Succeeded'));
  });

  it('random: maxTrials samples within the ranges, and the top checkpoint is the best trial', async () => {
    const { app, id, trials } = await search({ x: { type: 'double', minval: 0, maxval: 6 } }, { name: 'random', maxTrials: 8, maxLength: 4 });
    assert.equal(trials.length, 8);
    assert.ok(trials.every((t: any) => t.hparams.x >= 0 && t.hparams.x <= 6));
    const [top] = (await call(app, 'GET', `/api/v1/experiment/${id}/checkpoints/top`)).body.result;
    const closest = [...trials].sort((a: any, b: any) => Math.abs(a.hparams.x - 3) - Math.abs(b.hparams.x - 3))[0];
    assert.equal(top.trialId, closest.id);
    assert.equal(top.stepsCompleted, 4);
    const top3 = (await call(app, 'GET', `/api/v1/experiment/${id}/checkpoints/top?limit=3`)).body.result;
    assert.equal(new Set(top3.map((c: any) => c.trialId)).size, 3, 'the best of three distinct trials');
  });

  it('adaptive ASHA: stops the worse trials early and trains less than 16 × maxLength', async () => {
    const maxLength = 16;
    const { app, trials } = await search({ x: { type: 'double', minval: -3, maxval: 9 } }, { name: 'adaptive_asha', maxTrials: 16, maxLength, numRungs: 3, divisor: 4, maxConcurrentTrials: 8, mode: 'aggressive' });
    assert.equal(trials.length, 16);
    const trained = await Promise.all(trials.map(async (t: any) => (await app.trials.get(t.id)) && (await call(app, 'GET', `/api/v1/trials/${t.id}/metrics?group=training`)).body.result.length));
    const total = trained.reduce((a: number, b: number) => a + b, 0);
    // How much less depends on the order the random trials report in (a run of ever-better arrivals promotes
    // each): anything short of all of it is stopping, and most orders train well under half.
    assert.ok(total < 16 * maxLength, `trained ${total} steps in all, budget ${16 * maxLength}`);
    const full = trials.filter((_: any, i: number) => trained[i] === maxLength);
    assert.ok(full.length >= 1 && full.length < 16, `${full.length} trials reached maxLength`);
    // The best hyperparameters (closest to x = 3) were trained to the end, and the trials stopped at the first
    // rung are on average worse than those trained to the end. (Asynchronous halving always promotes the first
    // trial to report at a rung, so an early bad trial may go far: only the averages are ordered. One bracket,
    // 'aggressive': in the default mode a second bracket starts its few trials past the first rung, where a
    // mediocre one goes to the end for want of rivals, which made this comparison depend on arrival order.)
    const distance = (t: any) => Math.abs(t.hparams.x - 3);
    const best = [...trials].sort((a: any, b: any) => distance(a) - distance(b))[0];
    assert.ok(full.includes(best), `the best trial (x=${best.hparams.x}) reached maxLength`);
    const firstRung = Math.min(...trained);
    const stoppedEarly = trials.filter((_: any, i: number) => trained[i] === firstRung);
    const mean = (ts: any[]) => ts.reduce((a, t) => a + distance(t), 0) / ts.length;
    assert.ok(mean(stoppedEarly) > mean(full), `stopped early: mean |x-3| ${mean(stoppedEarly)}, trained to the end: ${mean(full)}`);
    console.log(`ASHA: ${total} of ${16 * maxLength} steps trained; ${full.length} of 16 trials reached maxLength`);
  });
});

describe('search across a restart', () => {
  it('resumes the searcher from its saved state: a trial that ended while the server was down counts, the rest follow', async () => {
    const dir = tempDir();
    const dataDir = tempDir();
    const database = join(tempDir(), 'db.sqlite');
    const gate = join(dir, 'gate');
    writeFileSync(
      join(dir, 'train.py'),
      [
        'import os, time, periscope',
        'ctx = periscope.init()',
        'ctx.report_validation_metrics(1, {"loss": abs(float(ctx.hparams["x"]) - 3)})',
        'print("reported", flush=True)',
        'while ctx.trial_id == 1 and not os.path.exists(os.environ["GATE"]):',
        '    time.sleep(0.02)',
      ].join('\n'),
    );
    // As the server starts: requests and recovery wait until the API's URL is known (the trials recovery
    // launches are told it); `beforeOpen` looks at what the app did before that.
    const open = async (beforeOpen?: (app: App) => Promise<void>) => {
      const app = await testApp(database, { dataDir, holdRequests: true });
      await beforeOpen?.(app);
      await app.http.listen({ host: '127.0.0.1', port: 0 });
      app.execution.setApiUrl(`http://127.0.0.1:${(app.http.server.address() as { port: number }).port}`);
      await app.open();
      return app;
    };
    const first = await open();
    const id = await create(first, {
      meta: { name: 'resumed', framework: 'Custom', cmd: `python3 ${join(dir, 'train.py')}`, envVars: { GATE: gate } },
      spec: { Worker: {} },
      hyperparameters: { x: { type: 'double', minval: 0, maxval: 6 } },
      searcher: { name: 'random', metric: 'loss', maxTrials: 3, maxLength: 1, maxConcurrentTrials: 1 },
    });
    await eventually('trial 1 to report', async () => {
      const trials = (await call(first, 'GET', `/api/v1/experiment/${id}/trials`)).body.result;
      return trials[0] && (await call(first, 'GET', `/api/v1/trials/${trials[0].id}/metrics?group=validation`)).body.result.length === 1;
    });
    await first.close(); // the server goes away; trial 1 lives on
    writeFileSync(gate, 'open');
    await eventually('trial 1 to exit while the server is down', async () => readdirSync(dataDir, { recursive: true }).some((f) => basename(String(f)) === 'exit'));
    const second = await open(async (app) => {
      const trials = await app.db.kysely.selectFrom('trials').select('id').where('experiment_id', '=', id).execute();
      assert.equal(trials.length, 1, 'no trial is launched before the API URL is known (it would be told an empty PERISCOPE_API)');
    });
    const done = await waitForStatus(second, id, ['Succeeded', 'Failed'], 60_000);
    const trials = (await call(second, 'GET', `/api/v1/experiment/${id}/trials`)).body.result;
    assert.equal(done.status, 'Succeeded', JSON.stringify(trials.map((t: any) => [t.state, t.message])));
    assert.deepEqual(trials.map((t: any) => t.state), ['Succeeded', 'Succeeded', 'Succeeded']);
    assert.equal(new Set(trials.map((t: any) => t.hparams.x)).size, 3, 'three different samples: the searcher went on, not over');
  });
});
