/**
 * Determined's SDK surface against a real server: a model dir is packed and uploaded, a grid search of real
 * Python trials runs, and the references rank, select and download their checkpoints and read their logs.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { Checkpoint, DeterminedUsageError, ExperimentReference, getCheckpoint, getExperiment, getTrial, login, Periscope, PeriscopeApiError, TrialReference } from './index.js';
import { lossAt, modelDir, trainingServer } from './testing/determined.js';
import { eventually, fifo, tempDir } from './testing/server.js';

const XS = [0, 1.5, 2.5, 3.2, 5];

function gridConfig(extra: Record<string, unknown> = {}) {
  return {
    name: 'grid-search',
    entrypoint: 'python3 train.py',
    hyperparameters: { x: { type: 'categorical', vals: XS } },
    searcher: { name: 'grid', metric: 'loss', smaller_is_better: true, max_length: { batches: 4 }, max_concurrent_trials: 5 },
    max_restarts: 0,
    checkpoint_storage: { type: 'shared_fs' },
    ...extra,
  };
}

// Started here, not in a hook: the server lives until the file ends.
const server = await trainingServer();

describe('createExperiment and the references', () => {
  let client: Periscope;
  let experiment: ExperimentReference;
  let status: string;

  before(async () => {
    client = new Periscope({ master: server.master });
    const { dir, helper } = modelDir();
    experiment = await client.createExperiment(gridConfig(), dir, { includes: [helper] });
    status = await experiment.wait({ interval: 0.1, timeout: 120 });
  });

  it('uploads the model dir, runs the grid and surfaces the conversion warnings', async () => {
    const trials = await experiment.getTrials({ sortBy: 'number' });
    assert.equal(status, 'Succeeded', JSON.stringify(trials.map((t) => [t.state, t.info?.message])));
    assert.deepEqual(trials.map((t) => t.hparams?.x).sort(), [...XS].sort());
    assert.ok(trials.every((t) => t.state === 'Succeeded'));
    assert.ok(experiment.warnings.some((w) => w.includes('checkpoint_storage')), experiment.warnings.join('; '));
    const desc = await experiment.getTrials({ sortBy: 'id', orderBy: 'desc' });
    assert.deepEqual(desc.map((t) => t.id), trials.map((t) => t.id).sort((a, b) => b - a));
  });

  it('topCheckpoint is the best trial’s best checkpoint; topNCheckpoints(3) the best of 3 distinct trials', async () => {
    const top = await experiment.topCheckpoint();
    assert.ok(top instanceof Checkpoint);
    assert.equal(top.training.hparams.x, 3.2);
    assert.equal(top.stepsCompleted, 4);
    assert.equal(top.training.validationMetrics?.loss, lossAt(3.2, 4));

    const top3 = await experiment.topNCheckpoints(3);
    assert.deepEqual(top3.map((c) => c.training.hparams.x), [3.2, 2.5, 1.5]);
    assert.equal(new Set(top3.map((c) => c.trialId)).size, 3);
    // Largest loss first when larger is better.
    const worst = await experiment.topCheckpoint({ sortBy: 'loss', smallerIsBetter: false });
    assert.equal(worst.training.hparams.x, 0);
  });

  it('selectCheckpoint picks the latest, the best or a uuid of this trial, and exactly one of them', async () => {
    const top = await experiment.topCheckpoint();
    const trial = await client.getTrial(top.trialId);
    assert.ok(trial instanceof TrialReference);
    const all = await trial.getCheckpoints();
    assert.deepEqual(all.map((c) => c.stepsCompleted).sort(), [2, 4]);
    const latest = await trial.selectCheckpoint({ latest: true });
    assert.equal(latest.stepsCompleted, 4);
    assert.ok(all.every((c) => c.reportTime <= latest.reportTime));
    assert.equal((await trial.selectCheckpoint({ best: true })).uuid, top.uuid);
    const byLoss = await trial.getCheckpoints({ sortBy: 'loss', orderBy: 'desc' });
    assert.deepEqual(byLoss.map((c) => c.stepsCompleted), [2, 4]);
    assert.equal((await trial.selectCheckpoint({ uuid: byLoss[0]!.uuid })).stepsCompleted, 2);

    await assert.rejects(trial.selectCheckpoint({ latest: true, best: true }), { name: 'DeterminedUsageError', message: /exactly one of latest, best or uuid must be set, got latest and best/ });
    await assert.rejects(trial.selectCheckpoint({}), { name: 'DeterminedUsageError', message: /got none/ });
    const other = (await experiment.topNCheckpoints(2))[1]!;
    await assert.rejects(trial.selectCheckpoint({ uuid: other.uuid }), { name: 'DeterminedUsageError', message: new RegExp(`belongs to trial ${other.trialId}, not trial ${trial.id}`) });
  });

  it('topCheckpoint by a metric never reported is a clear error, not a wrong answer', async () => {
    await assert.rejects(experiment.topCheckpoint({ sortBy: 'f1' }), (error) => {
      assert.ok(error instanceof PeriscopeApiError);
      assert.equal(error.code, 'BAD_REQUEST');
      assert.match(error.message, /validation metric "f1"/);
      return true;
    });
    const trial = (await experiment.getTrials())[0]!;
    // The trial's list refuses the unknown metric the same way (issue 13): topCheckpoint gets that 400.
    await assert.rejects(trial.topCheckpoint({ sortBy: 'f1', smallerIsBetter: true }), { name: 'PeriscopeApiError', code: 'BAD_REQUEST', message: /validation metric "f1" .*reported: loss/ });
    await assert.rejects(trial.getCheckpoints({ sortBy: 'f1' }), { name: 'PeriscopeApiError', code: 'BAD_REQUEST', message: /validation metric "f1" .*reported: loss/ });
  });

  it('download() writes identical bytes and metadata.json; metadata can be added and removed', async () => {
    const top = await experiment.topCheckpoint();
    const checkpoint = await client.getCheckpoint(top.uuid);
    assert.deepEqual(checkpoint.resources, { 'state.json': checkpoint.resources['state.json'], 'weights/w.bin': 256 * 4 });
    const dir = join(tempDir(), 'out');
    assert.equal(await checkpoint.download(dir), dir);
    const expected = Buffer.alloc(256 * 4, 0).map((_, i) => i % 256);
    assert.deepEqual(readFileSync(join(dir, 'weights', 'w.bin')), expected);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')), { step: 4, x: 3.2 });
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'metadata.json'), 'utf8')), { step: 4, x: 3.2 });

    await checkpoint.addMetadata({ tag: 'best' });
    await checkpoint.removeMetadata(['x']);
    assert.deepEqual(checkpoint.metadata, { step: 4, tag: 'best' });
    assert.deepEqual((await client.getCheckpoint(top.uuid)).metadata, { step: 4, tag: 'best' });

    // The default target is checkpoints/<uuid> under the current directory.
    const cwd = process.cwd();
    process.chdir(tempDir());
    try {
      const target = await checkpoint.download();
      assert.equal(target, join('checkpoints', top.uuid));
      assert.ok(existsSync(join(target, 'weights', 'w.bin')));
      assert.deepEqual(JSON.parse(readFileSync(join(target, 'metadata.json'), 'utf8')), { step: 4, tag: 'best' });
    } finally {
      process.chdir(cwd);
    }
  });

  it('logs({tail: 10}) gives the last ten lines; head and filters work; follow with tail is refused', async () => {
    const trial = (await experiment.getTrials())[0]!;
    const tail: string[] = [];
    for await (const line of trial.logs({ tail: 10 })) tail.push(line);
    assert.deepEqual(tail, Array.from({ length: 10 }, (_, i) => `end line ${i + 10}`));
    const head: string[] = [];
    for await (const line of trial.logs({ head: 3, stdtypes: ['stdout'], ranks: [0] })) head.push(line);
    assert.equal(head.length, 3);
    const stderr: string[] = [];
    for await (const line of trial.logs({ stdtypes: ['stderr'] })) stderr.push(line);
    assert.deepEqual(stderr, []);

    assert.throws(() => trial.logs({ follow: true, tail: 10 }), (error) => error instanceof DeterminedUsageError && /follow and tail are mutually exclusive/.test(error.message));
    assert.throws(() => trial.logs({ head: 1, tail: 1 }), /head and tail are mutually exclusive/);
  });

  it('metrics() yields every report of a group, oldest step first', async () => {
    const trial = (await experiment.getTrials())[0]!;
    const validation = [];
    for await (const report of trial.metrics({ group: 'validation' })) validation.push(report.stepsCompleted);
    assert.deepEqual(validation, [2, 4]);
    const all = [];
    for await (const report of trial.metrics({ pageSize: 3 })) all.push(`${report.group}:${report.stepsCompleted}`);
    assert.deepEqual(all, ['training:1', 'training:2', 'training:3', 'training:4', 'validation:2', 'validation:4']);
  });

  it('the module-level functions use the default client that login() sets', async () => {
    await login({ master: server.master });
    const again = await getExperiment(experiment.id);
    const top = await again.topCheckpoint();
    assert.equal((await getTrial(top.trialId)).hparams?.x, 3.2);
    assert.equal((await getCheckpoint(top.uuid)).stepsCompleted, 4);
    const trial = await getTrial(top.trialId);
    const executor = trial.info!.executors[0]!.name;
    const mine: string[] = [];
    for await (const line of trial.logs({ executors: [executor], minLevel: 'INFO' })) mine.push(line);
    assert.equal(mine.at(-1), 'end line 19');
    // The server names an unknown executor, alone or in a list (one rule for every filter).
    for (const executors of [['no-such-pod'], [executor, 'no-such-pod']]) {
      await assert.rejects(async () => {
        for await (const _ of trial.logs({ executors })) assert.fail('no line expected');
      }, { name: 'PeriscopeApiError', message: /no executor named "no-such-pod"/ });
    }
  });

  it('getExperiment of an unknown id is NOT_FOUND', async () => {
    await assert.rejects(client.getExperiment('experiment-1647574374688-9999'), { name: 'PeriscopeApiError', code: 'NOT_FOUND' });
    const again = await client.getExperiment(experiment.id);
    assert.equal(await again.getStatus(), 'Succeeded');
  });
});

describe('following a trial’s logs', () => {
  it('yields lines while the trial runs and ends when it ends; kill stops a running experiment', async () => {
    const client = new Periscope({ master: server.master });
    const { dir, helper } = modelDir();
    const gate = fifo();
    const config = gridConfig({
      searcher: { name: 'single', metric: 'loss', max_length: { batches: 2 } },
      hyperparameters: { x: 3 },
      environment: { environment_variables: [`GATE=${gate.path}`] },
    });
    const experiment = await client.createExperiment(config, dir, { includes: [helper] });
    const trial = await experiment.awaitFirstTrial({ timeout: 60 });

    const seen: string[] = [];
    let stateAtGate: string | undefined;
    for await (const line of trial.logs({ follow: true })) {
      seen.push(line);
      if (line === 'waiting at the gate') {
        stateAtGate = (await trial.reload()).state;
        await gate.open();
      }
    }
    assert.equal(stateAtGate, 'Running', 'the first line came while the trial ran');
    assert.equal(seen[0], 'waiting at the gate');
    assert.equal(seen.at(-1), 'end line 19');
    assert.equal(await experiment.wait({ interval: 0.1 }), 'Succeeded');

    // kill: a trial blocked at the gate is stopped.
    const blocked = await client.createExperiment(config, dir, { includes: [helper] });
    const blockedTrial = await blocked.awaitFirstTrial({ timeout: 60 });
    await eventually('the trial to wait at the gate', async () => {
      for await (const line of blockedTrial.logs({ head: 1 })) return line === 'waiting at the gate';
      return false;
    });
    await blocked.kill();
    assert.equal(await blocked.wait({ interval: 0.1, timeout: 60 }), 'Failed');
    await blocked.delete();
    await assert.rejects(client.getExperiment(blocked.id), { code: 'NOT_FOUND' });
  });
});
