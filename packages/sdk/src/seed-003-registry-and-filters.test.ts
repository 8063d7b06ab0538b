/**
 * Seed 003's contract where the SDK had drifted from it: `getModelLabels()` answers names, `getModelById`
 * exists (client and module), a model name cannot be all digits, `Model.delete()` deletes a model with
 * versions, an unknown `sortBy` is the same 400 for `getCheckpoints` and `topCheckpoint`, and log filters
 * follow one rule: a value the trial has nothing for (executor name, rank) is NOT_FOUND naming it.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { getModelById, login, Periscope, PeriscopeApiError } from './index.js';
import { eventually, startServer } from './testing/server.js';

const server = await startServer();
const client = new Periscope({ master: server.master });
const UUID = '0b4e28ba-2fa1-41d2-883f-0016d3cca427';

async function rejectsWith(promise: Promise<unknown>, code: string, message: RegExp): Promise<PeriscopeApiError> {
  let caught: PeriscopeApiError | undefined;
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof PeriscopeApiError, String(error));
    assert.equal(error.code, code);
    assert.match(error.message, message);
    caught = error;
    return true;
  });
  return caught!;
}

async function post(route: string, body: unknown): Promise<void> {
  const answer = await fetch(`${server.master}/api/v1${route}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token}` }, body: JSON.stringify(body) });
  assert.equal(answer.status, 200, await answer.text());
}

/** A parked experiment's trial with a validation report and a checkpoint at step 10. */
async function trialWithCheckpoint(): Promise<{ experimentId: string; trialId: number }> {
  const created = await client.experiments.create({ meta: { name: 'seed-003', framework: 'Custom', cmd: 'true' }, spec: { Worker: {} }, autoStart: false } as never);
  const id = created.experimentId;
  await eventually('the experiment to be Created', async () => (await client.experiments.get(id)).status === 'Created');
  const [trial] = await client.experiments.trials(id);
  const dir = join(server.app.execution.layout.checkpointDir(id, 1), UUID);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'state.json'), '{}');
  await post(`/trials/${trial!.id}/metrics`, { group: 'validation', reports: [{ stepsCompleted: 10, metrics: { loss: 0.5 } }] });
  await post(`/trials/${trial!.id}/checkpoints`, { uuid: UUID, stepsCompleted: 10 });
  return { experimentId: id, trialId: trial!.id };
}

describe('seed 003 contract of the SDK', () => {
  it('getModelLabels answers label names, most popular first', async () => {
    await client.createModel('labels-a', { labels: ['rare', 'common'] });
    await client.createModel('labels-b', { labels: ['common'] });
    const labels = await client.getModelLabels();
    assert.deepEqual(labels.slice(0, 2), ['common', 'rare']);
    assert.ok(labels.every((l) => typeof l === 'string'));
  });

  it('getModelById finds a model by its id only, on the client and at module level', async () => {
    const model = await client.createModel('by-id');
    assert.equal((await client.getModelById(model.id)).name, 'by-id');
    await login({ master: server.master });
    assert.equal((await getModelById(model.id)).name, 'by-id', 'module level, on the saved login');
    await rejectsWith(client.getModelById(987654), 'NOT_FOUND', /987654/);
    await assert.rejects(client.getModelById(0), /modelId: 0 is not a positive integer/);
  });

  it('refuses an all-digit model name with a 400 naming the field', async () => {
    await rejectsWith(client.createModel('16'), 'BAD_REQUEST', /^name: a model name cannot be all digits \(it would read as an id\)$/);
    assert.equal((await client.createModel('16a')).name, '16a', 'digits and more are a name');
  });

  it('Model.delete() deletes a model that has versions; {force: false} keeps the safety', async () => {
    const { trialId } = await trialWithCheckpoint();
    const model = await client.createModel('to-delete');
    await model.registerVersion(UUID);
    await rejectsWith(model.delete({ force: false }), 'CONFLICT', /has 1 version/);
    await model.delete();
    await rejectsWith(client.getModel('to-delete'), 'NOT_FOUND', /to-delete/);
    assert.equal((await client.getCheckpoint(UUID)).uuid, UUID, 'the checkpoint stays');

    // An unknown metric: the same 400 from the list and from top, naming the metric and what was reported.
    const trial = await client.getTrial(trialId);
    const listed = await rejectsWith(trial.getCheckpoints({ sortBy: 'nope' }), 'BAD_REQUEST', /sortBy: .*"nope".*reported: loss/);
    const top = await rejectsWith(trial.topCheckpoint({ sortBy: 'nope', smallerIsBetter: true }), 'BAD_REQUEST', /sortBy: .*"nope"/);
    assert.equal(top.message, listed.message);
    assert.deepEqual((await trial.getCheckpoints({ sortBy: 'loss' })).map((c) => c.uuid), [UUID]);
  });

  it('log filters: an executor name or rank the trial lacks is NOT_FOUND naming it, in a list too', async () => {
    const created = await client.experiments.create({ meta: { name: 'two-workers', framework: 'Custom', cmd: 'echo "line of rank $RANK"' }, spec: { Worker: { replicas: 2 } } } as never);
    const id = created.experimentId;
    await eventually('the experiment to succeed', async () => (await client.experiments.get(id)).status === 'Succeeded');
    const [info] = await client.experiments.trials(id);
    const trial = await client.getTrial(info!.id);
    const lines = async (options: Parameters<typeof trial.logLines>[0]) => {
      const out: string[] = [];
      for await (const line of trial.logLines(options)) out.push(line.text);
      return out.sort();
    };
    const names = info!.executors.map((e) => e.name);
    assert.deepEqual(await lines({ executors: names }), ['line of rank 0', 'line of rank 1']);
    assert.deepEqual(await lines({ ranks: [0, 1] }), ['line of rank 0', 'line of rank 1']);
    assert.deepEqual(await lines({ ranks: [1] }), ['line of rank 1']);
    await rejectsWith(lines({ executors: ['nope'] }), 'NOT_FOUND', /no executor named "nope"/);
    await rejectsWith(lines({ executors: [names[0]!, 'nope2'] }), 'NOT_FOUND', /no executor named "nope2"/);
    await rejectsWith(lines({ executors: ['nope', 'nope2'] }), 'NOT_FOUND', /no executor named "nope"/);
    await rejectsWith(lines({ ranks: [5] }), 'NOT_FOUND', /no executor of rank 5/);
    await rejectsWith(lines({ ranks: [0, 5] }), 'NOT_FOUND', /no executor of rank 5/);
    assert.deepEqual(await lines({ executors: [names[0]!], ranks: [1] }), [], 'each exists; together they select no line');
  });
});
