/** The native sub-clients behind the netunicorn facade: executions by name, flags with long-polls, start. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Periscope, PeriscopeTimeoutError, type ExperimentSpec } from './index.js';
import { flakyProxy } from './testing/flaky-proxy.js';
import { parkedSpec, startServer } from './testing/server.js';

const server = await startServer();
const periscope = new Periscope({ master: server.master });

const spec = (cmd: string, name = 'native'): ExperimentSpec => ({ meta: { name, framework: 'Custom', cmd }, spec: { Worker: { resources: 'cpu=0.1,memory=64M' } } });

describe('periscope.executions', () => {
  it('prepare is idempotent for one spec and a CONFLICT for another under a live name', async () => {
    const first = await periscope.executions.prepare('named', spec('true'));
    const again = await periscope.executions.prepare('named', spec('true'));
    assert.equal(again.experiment.experimentId, first.experiment.experimentId);
    await assert.rejects(periscope.executions.prepare('named', spec('false')), {
      name: 'PeriscopeApiError',
      code: 'CONFLICT',
      httpStatus: 409,
      message: new RegExp(`^Execution name "named" is already used by experiment ${first.experiment.experimentId} with a different spec`),
    });
  });

  it('wait gives up after timeoutMs with the last status; bad and unknown names are refused', async () => {
    await periscope.executions.prepare('parked', spec('true'));
    await periscope.executions.wait('parked', { until: 'READY', pollIntervalMs: 10 });
    await assert.rejects(periscope.executions.wait('parked', { pollIntervalMs: 10, timeoutMs: 50 }), (error: unknown) => {
      assert.ok(error instanceof PeriscopeTimeoutError);
      assert.equal(error.lastStatus, 'READY');
      assert.match(error.message, /^execution parked is still READY after \d+ s$/);
      return true;
    });
    await assert.rejects(periscope.executions.status('nobody'), { code: 'NOT_FOUND', message: 'Not found execution "nobody".' });
    await assert.rejects(periscope.executions.status('bad name!'), { code: 'BAD_REQUEST', message: /execution name "bad name!" must start with a letter or digit/ });
    await assert.rejects(periscope.executions.wait('parked', { until: 'RUNNING' as 'READY' }), { name: 'TypeError', message: 'until: "RUNNING" must be READY or FINISHED' });
    await assert.rejects(periscope.executions.cancelExecutors([]), { name: 'TypeError' });
  });

  it('cancel is retried after a lost answer and the execution ends once', async () => {
    await periscope.executions.prepare('cancel-lost', spec('exec sleep 600'));
    await periscope.executions.wait('cancel-lost', { until: 'READY', pollIntervalMs: 10 });
    await periscope.executions.start('cancel-lost');
    const proxy = await flakyProxy(server.master, ['lose']);
    const info = await new Periscope({ master: proxy.master, retryDelayMs: 1 }).executions.cancel('cancel-lost');
    assert.equal(info.status, 'FINISHED');
    assert.equal(info.experiment.status, 'Failed');
    assert.equal(proxy.received.length, 2);
  });
});

describe('periscope.experiments.start', () => {
  it('starts an experiment stored with autoStart false', async () => {
    const { experimentId } = await periscope.experiments.create({ ...parkedSpec('start-later'), meta: { name: 'start-later', framework: 'Custom', cmd: 'echo started' }, spec: { Worker: { resources: 'cpu=0.1,memory=64M' } } });
    await periscope.experiments.start(experimentId);
    const { status, logs } = await periscope.experiments.wait(experimentId, { pollIntervalMs: 20 });
    assert.equal(status, 'Succeeded');
    assert.deepEqual(logs.logContent.map((p) => p.podLog), [['started']]);
  });
});

describe('periscope.flags', () => {
  it('a get with waitFor answers once the flag changes', async () => {
    const { experimentId: id } = await periscope.experiments.create(parkedSpec('flags-wait'));
    const before = await periscope.flags.set(id, 'go', { textValue: 'wait' });
    const waiting = periscope.flags.get(id, 'go', { waitFor: before.version, timeout: 30 });
    await periscope.flags.set(id, 'go', { textValue: 'now', intValue: 1 });
    assert.deepEqual(await waiting, { name: 'go', textValue: 'now', intValue: 1, version: before.version + 1 });
  });

  it('a long-poll may outlast the per-attempt limit, and answers the unchanged flag when its timeout runs out', async () => {
    const { experimentId: id } = await periscope.experiments.create(parkedSpec('flags-long'));
    const impatient = new Periscope({ master: server.master, requestTimeoutMs: 100 });
    const flag = await impatient.flags.get(id, 'never', { waitFor: 0, timeout: 0.5 });
    assert.deepEqual(flag, { name: 'never', textValue: null, intValue: null, version: 0 });
  });

  it('increments are atomic, list shows every flag set, bad arguments are refused naming them', async () => {
    const { experimentId: id } = await periscope.experiments.create(parkedSpec('flags-count'));
    const values = await Promise.all(Array.from({ length: 10 }, () => periscope.flags.increment(id, 'count')));
    assert.deepEqual(values.map((f) => f.intValue).sort((a, b) => a! - b!), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.equal((await periscope.flags.increment(id, 'count', -4)).intValue, 6);
    await periscope.flags.set(id, 'text', { textValue: 'x' });
    assert.deepEqual((await periscope.flags.list(id)).map((f) => [f.name, f.textValue, f.intValue]).sort(), [['count', null, 6], ['text', 'x', null]]);
    await assert.rejects(periscope.flags.get(id, 'count', { waitFor: -1 }), { name: 'TypeError', message: /^waitFor: -1 must be a version/ });
    await assert.rejects(periscope.flags.get(id, 'count', { waitFor: 0, timeout: 61 }), { name: 'TypeError', message: 'timeout: 61 must be between 0 and 60 seconds' });
    await assert.rejects(periscope.flags.increment(id, 'count', 0.5), { name: 'TypeError', message: 'by: 0.5 must be a whole number' });
    await assert.rejects(periscope.flags.set(id, 'bad name', { intValue: 1 }), { code: 'BAD_REQUEST', message: /flag name "bad name"/ });
    await assert.rejects(periscope.flags.get('experiment-1647574374688-9999', 'x'), { code: 'NOT_FOUND' });
  });
});
