/**
 * netunicorn's BaseClient shape against a real server and real processes: the two-phase lifecycle by name,
 * idempotent prepare and start under concurrency and lost answers, partial cancel, flags by name, health.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { NetunicornClient, Periscope, type ExperimentSpec } from './index.js';
import { flakyProxy } from './testing/flaky-proxy.js';
import { eventually, startServer, tempDir, unusedMaster } from './testing/server.js';

const server = await startServer();
const client = new NetunicornClient({ host: server.master });
const periscope = client.periscope;

/** A netunicorn-style experiment: `replicas` Workers each running `cmd`. */
function experiment(cmd: string, replicas = 1, envVars: Record<string, string> = {}, metaName = 'netunicorn'): ExperimentSpec {
  return { meta: { name: metaName, framework: 'Custom', cmd, envVars }, spec: { Worker: { replicas, resources: 'cpu=0.1,memory=64M' } } };
}

const lines = (file: string) => readFileSync(file, 'utf8').trim().split('\n').sort();

describe('NetunicornClient', () => {
  it('prepares (READY, executors planned, nothing run), starts, and finishes with per-executor results', async () => {
    const gate = join(tempDir(), 'gate');
    const name = await client.prepareExperiment(experiment('until [ -e "$GATE" ]; do sleep 0.02; done; echo "rank $RANK"', 2, { GATE: gate }), 'cycle');
    assert.equal(name, 'cycle');
    const ready = await periscope.executions.wait('cycle', { until: 'READY', pollIntervalMs: 20 });
    assert.equal(ready.status, 'READY');
    const status = await client.getExperimentStatus('cycle');
    assert.equal(status.status, 'READY');
    assert.equal(status.executionResult, null, 'nothing has run');
    const [trial] = await periscope.experiments.trials(status.experiment.experimentId);
    assert.deepEqual(trial!.executors.map((e) => [e.rank, e.state]), [[0, 'Pending'], [1, 'Pending']]);

    assert.equal(await client.startExecution('cycle'), 'cycle');
    await periscope.executions.wait('cycle', { until: 'FINISHED', pollIntervalMs: 20, onProgress: (info) => info.status === 'RUNNING' && writeFileSync(gate, '') });
    const finished = await client.getExperimentStatus('cycle');
    assert.equal(finished.status, 'FINISHED');
    assert.equal(finished.experiment.status, 'Succeeded');
    assert.deepEqual(
      finished.executionResult!.map((r) => [r.executor, r.rank, r.state, r.exitCode, r.error]),
      trial!.executors.map((e) => [e.name, e.rank, 'Succeeded', 0, null]),
    );
    assert.equal((await client.getExperiments()).cycle!.status, 'FINISHED');
    assert.equal((await client.deleteExperiment('cycle')).name, 'cycle');
    await assert.rejects(client.getExperimentStatus('cycle'), { code: 'NOT_FOUND', message: 'Not found execution "cycle".' });
  });

  it('20 concurrent prepareExperiment calls with one name make one experiment', async () => {
    const spec = experiment('true', 1, {}, 'twenty-prepares');
    const answers = await Promise.all(Array.from({ length: 20 }, () => client.prepareExperiment(spec, 'twenty')));
    assert.deepEqual(new Set(answers), new Set(['twenty']));
    const id = (await client.getExperimentStatus('twenty')).experiment.experimentId;
    const made = (await periscope.experiments.list()).experiments.filter((e) => e.spec.meta.name === 'twenty-prepares');
    assert.deepEqual(made.map((e) => e.experimentId), [id]);
    const executions = Object.values(await client.getExperiments()).filter((info) => info.name === 'twenty');
    assert.equal(executions.length, 1);
    assert.equal(executions[0]!.experiment.experimentId, id);
  });

  it('a start whose answer was lost is retried and launches once (each process appends a line)', async () => {
    const starts = join(tempDir(), 'starts');
    await client.prepareExperiment(experiment('echo "$PERISCOPE_EXECUTOR" >> "$STARTS"', 2, { STARTS: starts }), 'lost-answer');
    await periscope.executions.wait('lost-answer', { until: 'READY', pollIntervalMs: 20 });
    // The server gets the start and answers it; the proxy drops the connection instead of relaying the answer.
    let startsSeen = 0;
    const proxy = await flakyProxy(server.master, ({ method, url }) => (method === 'POST' && url.endsWith('/start') && startsSeen++ === 0 ? 'lose' : 'pass'));
    const flaky = new NetunicornClient({ host: proxy.master, retryDelayMs: 1 });
    assert.equal(await flaky.startExecution('lost-answer'), 'lost-answer');
    assert.deepEqual(proxy.received, ['POST /api/v1/executions/lost-answer/start', 'POST /api/v1/executions/lost-answer/start']);
    const done = await periscope.executions.wait('lost-answer', { pollIntervalMs: 20 });
    assert.equal(done.experiment.status, 'Succeeded');
    assert.deepEqual(lines(starts), done.executionResult!.map((r) => r.executor).sort(), 'every executor ran exactly once');
  });

  it('prepareExperiment is retried after a dropped connection and still makes one experiment', async () => {
    const proxy = await flakyProxy(server.master, ['lose', 'reset']);
    const flaky = new NetunicornClient({ host: proxy.master, retryDelayMs: 1 });
    assert.equal(await flaky.prepareExperiment(experiment('true', 1, {}, 'retried-prepare'), 'retried-prepare'), 'retried-prepare');
    assert.deepEqual(proxy.received, Array.from({ length: 3 }, () => 'PUT /api/v1/executions/retried-prepare'));
    const made = (await periscope.experiments.list()).experiments.filter((e) => e.spec.meta.name === 'retried-prepare');
    assert.deepEqual(made.map((e) => e.experimentId), [(await client.getExperimentStatus('retried-prepare')).experiment.experimentId]);
  });

  it('cancelExecutors stops one of three executors and the other two finish', async () => {
    const gate = join(tempDir(), 'gate');
    await client.prepareExperiment(experiment('echo up; until [ -e "$GATE" ]; do sleep 0.02; done', 3, { GATE: gate }), 'three');
    await periscope.executions.wait('three', { until: 'READY', pollIntervalMs: 20 });
    await client.startExecution('three');
    const running = await eventually('three executors running', async () => {
      const info = await client.getExperimentStatus('three');
      return info.executionResult?.every((r) => r.state === 'Running') && info;
    });
    const [a, b, c] = running.executionResult!.map((r) => r.executor);
    assert.deepEqual(await client.cancelExecutors(new Set([b!])), { canceled: [b], alreadyEnded: [] });
    const mid = await client.getExperimentStatus('three');
    assert.equal(mid.status, 'RUNNING', 'the other two run on');
    assert.deepEqual(mid.executionResult!.map((r) => r.state), ['Running', 'Canceled', 'Running']);
    writeFileSync(gate, '');
    const done = await periscope.executions.wait('three', { pollIntervalMs: 20 });
    assert.deepEqual(done.executionResult!.map((r) => [r.executor, r.state]), [[a, 'Succeeded'], [b, 'Canceled'], [c, 'Succeeded']]);
    assert.deepEqual(await client.cancelExecutors([a!, b!]), { canceled: [], alreadyEnded: [a, b].sort() });
    await assert.rejects(client.cancelExecutors(['nobody-worker-0']), { name: 'PeriscopeApiError', code: 'NOT_FOUND', message: /Not found executor: nobody-worker-0/ });
  });

  it('cancelExperiment stops a running execution, which then can be deleted and its name reused', async () => {
    await client.prepareExperiment(experiment('exec sleep 600'), 'stop-me');
    await periscope.executions.wait('stop-me', { until: 'READY', pollIntervalMs: 20 });
    await client.startExecution('stop-me');
    await eventually('running', async () => (await client.getExperimentStatus('stop-me')).status === 'RUNNING');
    await assert.rejects(client.deleteExperiment('stop-me'), { code: 'CONFLICT', message: /cancel it before deleting it/ });
    assert.equal(await client.cancelExperiment('stop-me'), 'stop-me');
    assert.equal((await client.getExperimentStatus('stop-me')).status, 'FINISHED');
    await client.deleteExperiment('stop-me');
    await client.prepareExperiment(experiment('echo again'), 'stop-me');
    assert.equal((await client.getExperimentStatus('stop-me')).executionResult, null, 'a new experiment under the old name');
  });

  it('flags by execution name: set replaces both values, get reads them, and they stay with the experiment, not the name', async () => {
    await client.prepareExperiment(experiment('true'), 'flagged');
    assert.deepEqual(await client.getFlagValues('flagged', 'stage'), { name: 'stage', textValue: null, intValue: null, version: 0 });
    assert.deepEqual(await client.setFlagValues('flagged', 'stage', { textValue: 'go', intValue: 2 }), { name: 'stage', textValue: 'go', intValue: 2, version: 1 });
    await client.setFlagValues('flagged', 'stage', { intValue: 3 });
    assert.deepEqual(await client.getFlagValues('flagged', 'stage'), { name: 'stage', textValue: null, intValue: 3, version: 2 });
    const id = (await client.getExperimentStatus('flagged')).experiment.experimentId;
    assert.equal((await periscope.flags.get(id, 'stage')).intValue, 3, 'the same flag by experiment id');

    await periscope.executions.wait('flagged', { until: 'READY', pollIntervalMs: 20 });
    await client.deleteExperiment('flagged');
    await client.prepareExperiment(experiment('true'), 'flagged');
    assert.deepEqual(await client.getFlagValues('flagged', 'stage'), { name: 'stage', textValue: null, intValue: null, version: 0 });
    await assert.rejects(client.getFlagValues('never-prepared', 'stage'), { code: 'NOT_FOUND' });
  });

  it('deploymentContext.envVars reach the executors; other connector contexts are ignored', async () => {
    const out = join(tempDir(), 'out');
    await client.prepareExperiment(experiment('echo "$GREETING $WHO" > "$OUT"', 1, { OUT: out, GREETING: 'hi' }), 'context', { envVars: { WHO: 'there' }, docker: { network: 'host' } });
    await periscope.executions.wait('context', { until: 'READY', pollIntervalMs: 20 });
    await assert.rejects(client.startExecution('context', { envVars: { WHO: 'someone else' } }), {
      name: 'TypeError',
      message: /^executionContext\.envVars: WHO differ from what context was prepared with/,
    });
    assert.equal((await client.getExperimentStatus('context')).status, 'READY', 'the refused start started nothing');
    await client.startExecution('context', { envVars: { WHO: 'there' }, salt: { target: 'x' } });
    await periscope.executions.wait('context', { pollIntervalMs: 20 });
    assert.equal(readFileSync(out, 'utf8'), 'hi there\n');
  });

  it('healthcheck is true for a healthy server, false for an unhealthy (503) or unreachable one', async () => {
    assert.equal(await client.healthcheck(), true);
    const report = await periscope.health();
    assert.equal(report.status, 'healthy');
    assert.ok(report.launcher.nodes >= 1);

    const unhealthy = await flakyProxy(server.master, ['503']);
    assert.equal(await new NetunicornClient({ host: unhealthy.master }).healthcheck(), false);
    assert.equal(unhealthy.received.length, 1, 'a 503 is the answer, not retried');
    assert.equal(await new NetunicornClient({ host: await unusedMaster(), retryDelayMs: 1 }).healthcheck(), false);
    await assert.rejects(new Periscope({ master: await unusedMaster(), retries: 0 }).health(), { code: 'UNREACHABLE' });
    await assert.rejects(client.healthcheck({ signal: AbortSignal.abort() }), { name: 'AbortError' });
  });

  it('getNodes lists this machine, filterable by label', async () => {
    const nodes = await client.getNodes();
    assert.equal(nodes.length, 1);
    const [node] = nodes;
    assert.ok(node!.cpus > 0 && node!.memoryMb > 0);
    assert.equal(node!.state, 'READY');
    const [key, value] = Object.entries(node!.labels)[0]!;
    assert.equal((await periscope.nodes.list({ label: { [key]: value } })).length, 1);
    assert.equal((await periscope.nodes.list({ label: `${key}=not-${value}` })).length, 0);
    await assert.rejects(periscope.nodes.list({ label: 'no-equals-sign' }), { name: 'TypeError', message: 'label: "no-equals-sign" must be key=value' });
  });
});
