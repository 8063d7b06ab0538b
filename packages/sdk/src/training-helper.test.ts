/**
 * @periscope/sdk/training in a real TypeScript trial (node + tsx, started by the server): metrics, both
 * checkpoint forms, the searcher's budget, and a restarted trial resuming from its latest checkpoint.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { Periscope } from './index.js';
import { init, PeriscopeTrainingError } from './training.js';
import { trainingServer } from './testing/determined.js';
import { tempDir } from './testing/server.js';

const TRAINING = fileURLToPath(new URL('./training.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

const TRAIN_TS = `
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { init } from ${JSON.stringify(TRAINING)};
const ctx = init();
const x = Number(ctx.hparams.x);
let start = 0;
if (ctx.latestCheckpoint) {
  start = JSON.parse(readFileSync(join(ctx.latestCheckpoint, 'state.json'), 'utf8')).step;
  console.log('resumed from step', start);
}
const length = (await ctx.maxLength()) ?? 0;
console.log('rank', ctx.distributed.rank, 'of', ctx.distributed.size, 'chief', ctx.distributed.isChief, 'length', length);
for (let step = start + 1; step <= length; step++) {
  const loss = (x - 3) ** 2 + 1 / step;
  await ctx.reportTrainingMetrics(step, { loss });
  if (step % 2 === 0) {
    await ctx.reportValidationMetrics(step, { loss });
    if (step === 2) {
      await ctx.checkpoint(step, { form: 'callback' }, (dir) => writeFileSync(join(dir, 'state.json'), JSON.stringify({ step })));
    } else {
      const pending = await ctx.checkpoint(step, { form: 'pair' });
      writeFileSync(join(pending.path, 'state.json'), JSON.stringify({ step }));
      await pending.report();
    }
  }
  const marker = process.env.CRASH_ONCE;
  if (marker && step === 2 && !existsSync(marker)) {
    writeFileSync(marker, 'crashed');
    process.exit(17);
  }
  if (await ctx.shouldStop()) break;
}
console.log('latest', ctx.latestCheckpoint ? 'set' : 'unset');
`;

describe('@periscope/sdk/training', () => {
  it('reports metrics and checkpoints from a TypeScript trial, which resumes from its latest checkpoint after a crash', async () => {
    const server = await trainingServer();
    const client = new Periscope({ master: server.master });
    const dir = tempDir();
    writeFileSync(join(dir, 'train.mts'), TRAIN_TS);
    const experiment = await client.createExperiment(
      {
        meta: { name: 'ts-trial', framework: 'Custom', cmd: `node --import ${TSX} train.mts`, envVars: { CRASH_ONCE: join(tempDir(), 'crashed') } },
        spec: { Worker: {} },
        maxRestarts: 1,
        hyperparameters: { x: 2.5 },
        searcher: { name: 'single', metric: 'loss', smallerIsBetter: true, maxLength: 4 },
      },
      dir,
    );
    const status = await experiment.wait({ interval: 0.1, timeout: 120 });
    const [trial] = await experiment.getTrials();
    const log: string[] = [];
    for await (const line of trial!.logs()) log.push(line);
    assert.equal(status, 'Succeeded', log.join('\n'));
    assert.equal(trial!.info?.restarts, 1);
    assert.ok(log.includes('resumed from step 2'), log.join('\n'));
    assert.ok(log.includes('rank 0 of 1 chief true length 4'), log.join('\n'));
    assert.ok(log.includes('latest set'));

    const validation = [];
    for await (const report of trial!.metrics({ group: 'validation' })) validation.push([report.stepsCompleted, report.metrics.loss]);
    assert.deepEqual(validation, [[2, 0.25 + 1 / 2], [4, 0.25 + 1 / 4]]);
    const checkpoints = await trial!.getCheckpoints({ sortBy: 'loss', orderBy: 'asc' });
    assert.deepEqual(checkpoints.map((c) => [c.stepsCompleted, c.metadata.form]), [[4, 'pair'], [2, 'callback']]);
    assert.deepEqual(Object.keys(checkpoints[0]!.resources), ['state.json']);
  });

  it('says when it does not run under Periscope', async () => {
    const ctx = init({ PERISCOPE_HPARAMS: '{"lr":0.1}', RANK: '2', WORLD_SIZE: '4' });
    assert.deepEqual(ctx.hparams, { lr: 0.1 });
    assert.equal(ctx.distributed.rank, 2);
    assert.equal(ctx.distributed.isChief, false);
    await assert.rejects(ctx.reportTrainingMetrics(1, { loss: 1 }), (error) => error instanceof PeriscopeTrainingError && /PERISCOPE_TRIAL_ID is not set/.test(error.message));
    await assert.rejects(ctx.checkpoint(1), { name: 'PeriscopeTrainingError', message: /PERISCOPE_CHECKPOINT_DIR is not set/ });
  });
});
