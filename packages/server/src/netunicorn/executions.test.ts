/** The netunicorn face on real processes: two-phase lifecycle, idempotency under concurrency, executors, flags. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { call, testApp } from '../testing/app.js';
import { DATABASES, eventually, tempDir } from '../testing/databases.js';
import type { App } from '../app.js';

const spec = (cmd: string, roles: object = { Worker: { replicas: 1 } }, envVars: Record<string, string> = {}) => ({
  meta: { name: 'netunicorn', framework: 'Custom', cmd, envVars },
  spec: roles,
});

async function statusOf(app: App, name: string): Promise<any> {
  return (await call(app, 'GET', `/api/v1/executions/${name}`)).body.result;
}

async function until(app: App, name: string, status: string): Promise<any> {
  return eventually(`${name} to be ${status}`, async () => {
    const info = await statusOf(app, name);
    return info?.status === status && info;
  });
}

for (const database of DATABASES) {
  describe(`executions on ${database.name}`, { skip: database.skip }, () => {
    it('prepare → READY with executors planned and nothing running → start → RUNNING → FINISHED with results', async () => {
      const app = await testApp(await database.fresh(), { capacity: { cpus: 8, memoryMb: 8192, gpus: [] } });
      // A file gate (not a FIFO): every replica sees it, however late it starts looking.
      const gate = join(tempDir(), 'gate');
      const prepared = await call(app, 'PUT', '/api/v1/executions/exp-1', spec('until [ -e "$GATE" ]; do sleep 0.02; done; echo "rank $RANK done"', { Worker: { replicas: 2 } }, { GATE: gate }));
      assert.equal(prepared.status, 200, prepared.body.message);
      const ready = await until(app, 'exp-1', 'READY');
      assert.equal(ready.executionResult, null, 'nothing has run');
      const trial = (await call(app, 'GET', `/api/v1/experiment/${ready.experiment.experimentId}/trials`)).body.result[0];
      assert.deepEqual(trial.executors.map((e: any) => [e.rank, e.state, e.pid]), [[0, 'Pending', null], [1, 'Pending', null]]);

      const started = await call(app, 'POST', '/api/v1/executions/exp-1/start');
      assert.equal(started.status, 200);
      await until(app, 'exp-1', 'RUNNING');
      writeFileSync(gate, 'go\n');
      const finished = await until(app, 'exp-1', 'FINISHED');
      assert.equal(finished.experiment.status, 'Succeeded');
      assert.deepEqual(
        finished.executionResult.map((r: any) => [r.rank, r.state, r.exitCode, r.node !== null, r.error]),
        [[0, 'Succeeded', 0, true, null], [1, 'Succeeded', 0, true, null]],
      );
      const all = (await call(app, 'GET', '/api/v1/executions')).body.result;
      assert.deepEqual(Object.keys(all), ['exp-1']);
      assert.equal(all['exp-1'].status, 'FINISHED');
    });
  });
}

describe('executions', () => {
  it('20 concurrent prepares give one experiment; 20 concurrent starts give one run', async () => {
    const app = await testApp(join(tempDir(), 'db.sqlite'));
    const starts = join(tempDir(), 'starts');
    const body = spec('echo "$PERISCOPE_EXECUTOR" >> "$STARTS"', { Worker: { replicas: 2 } }, { STARTS: starts });
    const prepares = await Promise.all(Array.from({ length: 20 }, () => call(app, 'PUT', '/api/v1/executions/once', body)));
    assert.deepEqual([...new Set(prepares.map((p) => p.status))], [200]);
    assert.equal(new Set(prepares.map((p) => p.body.result.experiment.experimentId)).size, 1);
    assert.equal((await call(app, 'GET', '/api/v1/experiment')).body.result.length, 1);
    await until(app, 'once', 'READY');
    const runs = await Promise.all(Array.from({ length: 20 }, () => call(app, 'POST', '/api/v1/executions/once/start')));
    assert.deepEqual([...new Set(runs.map((r) => r.status))], [200]);
    await until(app, 'once', 'FINISHED');
    // Every executor process ran exactly once.
    assert.deepEqual(readFileSync(starts, 'utf8').trim().split('\n').sort(), (await statusOf(app, 'once')).executionResult.map((r: any) => r.executor).sort());
    const again = await call(app, 'POST', '/api/v1/executions/once/start');
    assert.equal(again.status, 200, 'starting a finished execution is a harmless no-op');
    assert.equal(readFileSync(starts, 'utf8').trim().split('\n').length, 2);
  });

  it('refuses another spec under a live name, refuses deleting it while running, and frees the name on delete', async () => {
    const app = await testApp(join(tempDir(), 'db.sqlite'), { graceMs: 200 });
    const first = await call(app, 'PUT', '/api/v1/executions/reuse', spec('exec sleep 600'));
    const firstId = first.body.result.experiment.experimentId;
    const other = await call(app, 'PUT', '/api/v1/executions/reuse', spec('echo something else'));
    assert.equal(other.status, 409);
    assert.match(other.body.message, /already used by experiment .* with a different spec/);
    await until(app, 'reuse', 'READY');
    await call(app, 'PUT', `/api/v1/experiment/${firstId}/flags/f`, { intValue: 7 });
    await call(app, 'POST', '/api/v1/executions/reuse/start');
    await until(app, 'reuse', 'RUNNING');
    const refused = await call(app, 'DELETE', '/api/v1/executions/reuse');
    assert.equal(refused.status, 409);
    assert.match(refused.body.message, /cancel it before deleting it/);
    assert.equal((await call(app, 'POST', '/api/v1/executions/reuse/cancel')).body.result.status, 'FINISHED');
    assert.equal((await call(app, 'DELETE', '/api/v1/executions/reuse')).status, 200);
    assert.equal((await call(app, 'GET', '/api/v1/executions/reuse')).status, 404);

    const second = await call(app, 'PUT', '/api/v1/executions/reuse', spec('echo something else'));
    assert.equal(second.status, 200);
    const secondId = second.body.result.experiment.experimentId;
    assert.notEqual(secondId, firstId);
    assert.deepEqual((await call(app, 'GET', `/api/v1/experiment/${secondId}/flags`)).body.result, [], 'no flags carried over');
    assert.equal((await call(app, 'GET', `/api/v1/experiment/${secondId}/flags/f`)).body.result.intValue, null);
    assert.equal((await statusOf(app, 'reuse')).executionResult, null, 'no executors or results carried over');
  });

  it('cancels one of three executors and lets the other two finish', async () => {
    const app = await testApp(join(tempDir(), 'db.sqlite'), { graceMs: 200 });
    const gate = join(tempDir(), 'gate');
    await call(app, 'PUT', '/api/v1/executions/three', spec('echo up; until [ -e "$GATE" ]; do sleep 0.02; done', { Worker: { replicas: 3 } }, { GATE: gate }));
    await until(app, 'three', 'READY');
    await call(app, 'POST', '/api/v1/executions/three/start');
    const running = await until(app, 'three', 'RUNNING');
    const [a, b, c] = running.executionResult.map((r: any) => r.executor);
    const trial = (await call(app, 'GET', `/api/v1/experiment/${running.experiment.experimentId}/trials`)).body.result[0];
    await eventually('all three to print', async () => (await call(app, 'GET', `/api/v1/trials/${trial.id}/logs`)).body.result.length === 3);

    const canceled = await call(app, 'POST', '/api/v1/executors/cancel', { executors: [b] });
    assert.deepEqual(canceled.body.result, { canceled: [b], alreadyEnded: [] });
    const mid = await statusOf(app, 'three');
    assert.equal(mid.status, 'RUNNING', 'the others run on');
    assert.deepEqual(mid.executionResult.map((r: any) => r.state), ['Running', 'Canceled', 'Running']);

    writeFileSync(gate, 'go\n');
    const done = await until(app, 'three', 'FINISHED');
    assert.deepEqual(done.executionResult.map((r: any) => [r.executor, r.state]), [[a, 'Succeeded'], [b, 'Canceled'], [c, 'Succeeded']]);
    assert.equal(done.experiment.status, 'Succeeded');
    assert.deepEqual((await call(app, 'POST', '/api/v1/executors/cancel', { executors: [a, b] })).body.result, { canceled: [], alreadyEnded: [a, b].sort() });
    const unknown = await call(app, 'POST', '/api/v1/executors/cancel', { executors: ['nobody-worker-0'] });
    assert.equal(unknown.status, 404);
    assert.match(unknown.body.message, /Not found executor: nobody-worker-0/);
  });

  it('two executors coordinate through a flag increment and a long-poll (with their task token), then both finish', async () => {
    const app = await testApp(join(tempDir(), 'db.sqlite'));
    await app.http.listen({ host: '127.0.0.1', port: 0 });
    app.execution.setApiUrl(`http://127.0.0.1:${(app.http.server.address() as { port: number }).port}`);
    const script = [
      'import json, os, urllib.request',
      "api, eid = os.environ['PERISCOPE_API'], os.environ['PERISCOPE_EXPERIMENT_ID']",
      'def call(method, path, body=None):',
      "    data = json.dumps(body).encode() if body is not None else None",
      "    req = urllib.request.Request(api + path, method=method, data=data, headers={'content-type': 'application/json', 'authorization': 'Bearer ' + os.environ['PERISCOPE_TOKEN']})",
      "    return json.load(urllib.request.urlopen(req))['result']",
      "flag = call('POST', f'/api/v1/experiment/{eid}/flags/ready/increment', {'by': 1})",
      "while flag['intValue'] < 2:",
      "    flag = call('GET', f\"/api/v1/experiment/{eid}/flags/ready?waitFor={flag['version']}&timeout=30\")",
      "print('saw', flag['intValue'])",
    ].join('\n');
    const dir = tempDir();
    writeFileSync(join(dir, 'sync.py'), script);
    await call(app, 'PUT', '/api/v1/executions/sync', spec('python3 "$SCRIPT"', { Worker: { replicas: 2 } }, { SCRIPT: join(dir, 'sync.py') }));
    await until(app, 'sync', 'READY');
    await call(app, 'POST', '/api/v1/executions/sync/start');
    const done = await until(app, 'sync', 'FINISHED');
    assert.deepEqual(done.executionResult.map((r: any) => r.state), ['Succeeded', 'Succeeded']);
    const id = done.experiment.experimentId;
    const logs = (await call(app, 'GET', `/api/v1/experiment/logs/${id}`)).body.result.logContent;
    assert.deepEqual(logs.map((p: any) => p.podLog), [['saw 2'], ['saw 2']]);
    assert.deepEqual((await call(app, 'GET', `/api/v1/experiment/${id}/flags/ready`)).body.result, { name: 'ready', textValue: null, intValue: 2, version: 2 });
  });
});

describe('flags', () => {
  it('set replaces both values, increment adds atomically, a long-poll wakes on change or times out', async () => {
    const app = await testApp(join(tempDir(), 'db.sqlite'));
    const id = (await call(app, 'POST', '/api/v1/experiment', { ...spec('true'), autoStart: false })).body.result.experimentId;
    const base = `/api/v1/experiment/${id}/flags`;
    assert.deepEqual((await call(app, 'GET', `${base}/f`)).body.result, { name: 'f', textValue: null, intValue: null, version: 0 });
    assert.deepEqual((await call(app, 'PUT', `${base}/f`, { textValue: 'go', intValue: 3 })).body.result, { name: 'f', textValue: 'go', intValue: 3, version: 1 });
    assert.deepEqual((await call(app, 'PUT', `${base}/f`, { intValue: 5 })).body.result, { name: 'f', textValue: null, intValue: 5, version: 2 });
    const increments = await Promise.all(Array.from({ length: 25 }, () => call(app, 'POST', `${base}/f/increment`, { by: 2 })));
    assert.deepEqual(increments.map((r) => r.body.result.intValue).sort((x, y) => x - y), Array.from({ length: 25 }, (_, i) => 5 + 2 * (i + 1)));
    assert.equal((await call(app, 'POST', `${base}/g/increment`, { by: -4 })).body.result.intValue, -4);

    const waiting = call(app, 'GET', `${base}/f?waitFor=27&timeout=20`);
    await call(app, 'PUT', `${base}/f`, { textValue: 'changed' });
    assert.deepEqual((await waiting).body.result, { name: 'f', textValue: 'changed', intValue: null, version: 28 });
    const timedOut = await call(app, 'GET', `${base}/f?waitFor=28&timeout=0.2`);
    assert.equal(timedOut.body.result.version, 28, 'unchanged after the timeout');

    assert.equal((await call(app, 'GET', `${base}`)).body.result.length, 2);
    assert.equal((await call(app, 'PUT', `${base}/bad%20name`, { intValue: 1 })).status, 400);
    assert.equal((await call(app, 'PUT', `${base}/f`, { intValue: 1.5 })).status, 400);
    assert.equal((await call(app, 'GET', '/api/v1/experiment/experiment-1000000000000-0001/flags/f')).status, 404);
    await call(app, 'DELETE', `/api/v1/experiment/${id}`);
    const fresh = (await call(app, 'POST', '/api/v1/experiment', { ...spec('true'), autoStart: false })).body.result.experimentId;
    assert.deepEqual((await call(app, 'GET', `/api/v1/experiment/${fresh}/flags`)).body.result, []);
  });
});

describe('nodes and health', () => {
  it('lists this machine with its capacity, labels and allocations, filterable by label', async () => {
    const app = await testApp(join(tempDir(), 'db.sqlite'), { capacity: { cpus: 6, memoryMb: 2048, gpus: [0, 1] } });
    const [node] = (await call(app, 'GET', '/api/v1/nodes')).body.result;
    assert.equal(node.cpus, 6);
    assert.equal(node.memoryMb, 2048);
    assert.deepEqual(node.gpus.map((g: any) => g.index), [0, 1]);
    assert.equal(node.labels.gpu, 'true');
    assert.equal(node.state, 'READY');
    assert.deepEqual(node.allocations, { cpu: 0, memoryMb: 0, gpus: [], runningTrials: 0, queuedTrials: 0 });
    assert.equal((await call(app, 'GET', '/api/v1/nodes?label=gpu=true')).body.result.length, 1);
    assert.equal((await call(app, 'GET', '/api/v1/nodes?label=gpu=false')).body.result.length, 0);
    assert.equal((await call(app, 'GET', '/api/v1/nodes?label=nokey')).status, 400);
    const health = (await call(app, 'GET', '/api/v1/health')).body.result;
    assert.deepEqual(health.launcher, { kind: 'local', nodes: 1, runningTrials: 0, queuedTrials: 0 });
  });
});

describe('pipelines and placement', () => {
  it('runs a pipeline stage by stage, the commands of a stage in parallel, and records each command', async () => {
    const app = await testApp(join(tempDir(), 'db.sqlite'));
    const fifo = join(tempDir(), 'handshake');
    spawnSync('mkfifo', [fifo]);
    // Stage 0 can only finish if its two commands run at the same time (a FIFO needs a writer and a reader).
    const pipeline = [['echo hello > "$FIFO"; echo wrote', 'cat "$FIFO"'], ['echo failing; exit 3'], ['echo never']];
    await call(app, 'PUT', '/api/v1/executions/pipe', { meta: { name: 'pipe', framework: 'Custom', envVars: { FIFO: fifo } }, spec: { Worker: { pipeline } } });
    await until(app, 'pipe', 'READY');
    await call(app, 'POST', '/api/v1/executions/pipe/start');
    const done = await until(app, 'pipe', 'FINISHED');
    const [result] = done.executionResult;
    assert.equal(result.state, 'Failed');
    assert.equal(result.exitCode, 3);
    assert.deepEqual(
      result.pipeline.map((s: any) => [s.stage, s.index, s.command, s.exitCode, s.lastLines]),
      [
        [0, 0, pipeline[0]![0], 0, ['wrote']],
        [0, 1, pipeline[0]![1], 0, ['hello']],
        [1, 0, pipeline[1]![0], 3, ['failing']],
      ],
    );
    assert.ok(result.pipeline.every((s: any) => Number.isInteger(s.durationMs) && s.durationMs >= 0));
    const logs = (await call(app, 'GET', `/api/v1/experiment/logs/${done.experiment.experimentId}`)).body.result.logContent[0].podLog;
    assert.ok(logs.includes('failing') && logs.some((l: string) => /pipeline stage 1, command 0 failed with exit code 3/.test(l)), logs.join('\n'));
    assert.ok(!logs.includes('never'));
  });

  it('places roles pinned to a node or selecting node labels, and fails at once those no node matches', async () => {
    const app = await testApp(join(tempDir(), 'db.sqlite'), { capacity: { cpus: 4, memoryMb: 4096, gpus: [], labels: { zone: 'lab' } } });
    const [node] = (await call(app, 'GET', '/api/v1/nodes')).body.result;
    const run = async (name: string, role: object) => {
      await call(app, 'PUT', `/api/v1/executions/${name}`, { meta: { name, framework: 'Custom', cmd: 'true' }, spec: { Worker: role } });
      return eventually(`${name} to settle`, async () => {
        const info = await statusOf(app, name);
        return ['READY', 'FINISHED'].includes(info.status) && info;
      });
    };
    assert.equal((await run('pinned', { nodes: [node.name] })).status, 'READY');
    assert.equal((await run('selected', { nodeSelector: { zone: 'lab', launcher: 'local' } })).status, 'READY');
    const elsewhere = await run('elsewhere', { nodes: ['gpu-box-7'] });
    assert.equal(elsewhere.status, 'FINISHED');
    assert.equal(elsewhere.experiment.status, 'Failed');
    const trial = (await call(app, 'GET', `/api/v1/experiment/${elsewhere.experiment.experimentId}/trials`)).body.result[0];
    assert.match(trial.message, /Role Worker asks for nodes \[gpu-box-7\], but no node matches/);
    assert.equal((await run('no-gpu', { nodeSelector: { gpu: 'true' } })).experiment.status, 'Failed');
    await call(app, 'POST', '/api/v1/executions/pinned/start');
    assert.equal((await until(app, 'pinned', 'FINISHED')).executionResult[0].node, node.name);
  });
});
