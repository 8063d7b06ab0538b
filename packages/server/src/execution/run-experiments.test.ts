/** Experiments run as real processes: distributed env, gang queue, logs, cancel, restarts, code sync. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { adminHeaders, call, create, testApp, waitForStatus } from '../testing/app.js';
import { DATABASES, eventually, tempDir } from '../testing/databases.js';
import { sha256, tarGz } from '../code/test-archives.js';
import { groupAlive } from './local/local-launcher.js';
import type { DomainEvents } from './events.js';

const custom = (cmd: string, extra: object = {}, roles: object = { Worker: {} }) => ({ meta: { name: 'job', framework: 'Custom', cmd }, spec: roles, ...extra });

for (const database of DATABASES) {
  describe(`local execution on ${database.name}`, { skip: database.skip }, () => {
    it('runs a command to Succeeded with its times, and a failing one to Failed with the reason', async () => {
      const app = await testApp(await database.fresh());
      const ok = await create(app, custom('echo hello from $PERISCOPE_EXECUTOR'));
      const bad = await create(app, custom('echo about to fail >&2; exit 3'));
      const done = await waitForStatus(app, ok, ['Succeeded', 'Failed']);
      assert.equal(done.status, 'Succeeded');
      for (const time of ['acceptedTime', 'createdTime', 'runningTime', 'finishedTime']) assert.ok(done[time], `${time} is set`);
      assert.ok(new Date(done.runningTime) <= new Date(done.finishedTime));
      const failed = await waitForStatus(app, bad, ['Succeeded', 'Failed']);
      assert.equal(failed.status, 'Failed');

      const logs = (await call(app, 'GET', `/api/v1/experiment/logs/${ok}`)).body.result;
      assert.deepEqual(logs.logContent, [{ podName: `${ok}-worker-0`, podLog: [`hello from ${ok}-worker-0`] }]);
      const trials = (await call(app, 'GET', `/api/v1/experiment/${bad}/trials`)).body.result;
      assert.equal(trials[0].state, 'Failed');
      assert.match(trials[0].message, /worker-0 exited with code 3/);
      assert.equal(trials[0].executors[0].exitCode, 3);
      const lines = (await call(app, 'GET', `/api/v1/trials/${trials[0].id}/logs?stream=stderr`)).body.result;
      assert.deepEqual(lines.map((l: any) => [l.stream, l.text]), [['stderr', 'about to fail']]);
    });
  });
}

describe('local execution', () => {
  it('gives a PyTorch-style job RANK, WORLD_SIZE and MASTER_ADDR/PORT; the worker talks to rank 0', async () => {
    const app = await testApp(join(tempDir(), 'db.sqlite'));
    const master = "import os,socket; s=socket.create_server((os.environ['MASTER_ADDR'], int(os.environ['MASTER_PORT']))); c,_=s.accept(); m=c.recv(100).decode(); c.sendall(b'ack'); print('rank', os.environ['RANK'], 'of', os.environ['WORLD_SIZE'], 'got', m)";
    const worker = "import os,socket,time\nfor i in range(200):\n  try:\n    c=socket.create_connection((os.environ['MASTER_ADDR'], int(os.environ['MASTER_PORT']))); break\n  except OSError: time.sleep(0.05)\nc.sendall(('hello from rank '+os.environ['RANK']).encode()); print('worker', os.environ['RANK'], 'got', c.recv(100).decode())";
    const id = await create(app, {
      meta: { name: 'pt-dist', framework: 'PyTorch', cmd: 'unused' },
      spec: { Worker: { replicas: 1, cmd: `python3 -c "${worker}"` }, Master: { replicas: 1, cmd: `python3 -c "${master}"` } },
    });
    const done = await waitForStatus(app, id, ['Succeeded', 'Failed']);
    const logs = (await call(app, 'GET', `/api/v1/experiment/logs/${id}`)).body.result.logContent;
    assert.equal(done.status, 'Succeeded', JSON.stringify(logs));
    assert.deepEqual(logs, [
      { podName: `${id}-master-0`, podLog: ['rank 0 of 2 got hello from rank 1'] },
      { podName: `${id}-worker-0`, podLog: ['worker 1 got ack'] },
    ]);
  });

  it('gives a TensorFlow job its TF_CONFIG, and stops the parameter server once the workers succeed', async () => {
    const app = await testApp(join(tempDir(), 'db.sqlite'));
    const id = await create(app, {
      meta: { name: 'tf', framework: 'TensorFlow', cmd: 'echo "$TF_CONFIG"' },
      spec: { Ps: { replicas: 1, cmd: 'echo "$TF_CONFIG"; exec sleep 600' }, Worker: { replicas: 2 } },
    });
    const done = await waitForStatus(app, id, ['Succeeded', 'Failed']);
    assert.equal(done.status, 'Succeeded');
    const logs = (await call(app, 'GET', `/api/v1/experiment/logs/${id}`)).body.result.logContent;
    const configs = logs.map((p: any) => JSON.parse(p.podLog[0]));
    const cluster = configs[0].cluster;
    assert.equal(cluster.ps.length, 1);
    assert.equal(cluster.worker.length, 2);
    assert.equal(new Set([...cluster.ps, ...cluster.worker]).size, 3, 'every task has its own address');
    assert.deepEqual(configs.map((c: any) => c.task), [{ type: 'ps', index: 0 }, { type: 'worker', index: 0 }, { type: 'worker', index: 1 }]);
    for (const c of configs) assert.deepEqual(c.cluster, cluster);
  });

  it('queues a gang that does not fit until another finishes, and fails at once one that never fits', async () => {
    const app = await testApp(join(tempDir(), 'db.sqlite'), { capacity: { cpus: 2, memoryMb: 4096, gpus: [] } });
    const pending: DomainEvents['trial.pending'][] = [];
    app.execution.bus.on('trial.pending', (e) => pending.push(e));
    const gate = join(tempDir(), 'gate');
    const big = await create(app, custom('', { meta: { name: 'big', framework: 'Custom', cmd: 'until [ -e "$GATE" ]; do sleep 0.02; done', envVars: { GATE: gate } } }, { Worker: { replicas: 2, resources: 'cpu=1' } }));
    await waitForStatus(app, big, ['Running']);
    const small = await create(app, custom('echo small ran', {}, { Worker: { resources: 'cpu=1,memory=1G' } }));
    const never = await create(app, custom('true', {}, { Worker: { replicas: 3, resources: 'cpu=1' } }));

    const refused = await waitForStatus(app, never, ['Failed']);
    assert.equal(refused.finishedTime !== null, true);
    const trials = (await call(app, 'GET', `/api/v1/experiment/${never}/trials`)).body.result;
    assert.match(trials[0].message, /needs more than node .* has in total: cpu=3 \(node has 2\)/);
    // The small one is still waiting: its gang cannot be placed beside the big one, and the engine says why.
    assert.equal((await call(app, 'GET', `/api/v1/experiment/${small}`)).body.result.status, 'Accepted');
    const smallTrial = (await call(app, 'GET', `/api/v1/experiment/${small}/trials`)).body.result[0];
    assert.deepEqual(pending.filter((p) => p.trialId === smallTrial.id).map((p) => p.reason), [`Waiting for capacity on ${(await app.execution.launcher.nodes())[0]!.name}: needs cpu=1 (0 free).`]);
    writeFileSync(gate, 'go\n');
    assert.equal((await waitForStatus(app, big, ['Succeeded', 'Failed'])).status, 'Succeeded');
    assert.equal((await waitForStatus(app, small, ['Succeeded', 'Failed'])).status, 'Succeeded');
  });

  it('assigns GPUs by index through CUDA_VISIBLE_DEVICES (configured inventory)', async () => {
    const app = await testApp(join(tempDir(), 'db.sqlite'), { capacity: { cpus: 4, memoryMb: 4096, gpus: [0, 1, 2] } });
    const id = await create(app, custom('echo "gpus=[$CUDA_VISIBLE_DEVICES]"', {}, { Master: { resources: 'gpu=2' }, Worker: { replicas: 2, resources: 'nvidia.com/gpu=0' } }));
    assert.equal((await waitForStatus(app, id, ['Succeeded', 'Failed'])).status, 'Succeeded');
    const logs = (await call(app, 'GET', `/api/v1/experiment/logs/${id}`)).body.result.logContent;
    assert.deepEqual(logs.map((p: any) => p.podLog[0]), ['gpus=[0,1]', 'gpus=[]', 'gpus=[]']);
  });

  it('cancel stops every process of the job and leaves none behind', async () => {
    const app = await testApp(join(tempDir(), 'db.sqlite'), { graceMs: 500 });
    const id = await create(app, custom("trap '' TERM; sleep 600 & sleep 600 & echo started; wait", {}, { Worker: { replicas: 2 } }));
    await waitForStatus(app, id, ['Running']);
    const trial = (await call(app, 'GET', `/api/v1/experiment/${id}/trials`)).body.result[0];
    await eventually('both executors to print', async () => (await call(app, 'GET', `/api/v1/trials/${trial.id}/logs`)).body.result.length === 2);
    const pids = (await call(app, 'GET', `/api/v1/trials/${trial.id}`)).body.result.executors.map((e: any) => e.pid);
    assert.ok(pids.every((pid: number) => groupAlive(pid)));
    const canceled = await call(app, 'POST', `/api/v1/experiment/${id}/cancel`);
    assert.equal(canceled.status, 200);
    assert.equal(canceled.body.result.status, 'Failed'); // Submarine has no Canceled
    for (const pid of pids) assert.ok(!groupAlive(pid), `process group ${pid} is gone`);
    const after = (await call(app, 'GET', `/api/v1/trials/${trial.id}`)).body.result;
    assert.equal(after.state, 'Canceled');
    assert.deepEqual(after.executors.map((e: any) => e.state), ['Canceled', 'Canceled']);
    const again = await call(app, 'POST', `/api/v1/experiment/${id}/cancel`);
    assert.equal(again.status, 200, 'canceling twice is harmless');
  });

  it('DELETE of a running experiment stops it first and removes its files', async () => {
    const dataDir = tempDir();
    const app = await testApp(join(dataDir, 'db.sqlite'), { dataDir, graceMs: 500 });
    const id = await create(app, custom('exec sleep 600'));
    await waitForStatus(app, id, ['Running']);
    const trial = (await call(app, 'GET', `/api/v1/experiment/${id}/trials`)).body.result[0];
    const pid = trial.executors[0].pid;
    const deleted = await call(app, 'DELETE', `/api/v1/experiment/${id}`);
    assert.equal(deleted.body.result.status, 'Deleted');
    assert.ok(!groupAlive(pid));
    assert.equal((await call(app, 'GET', `/api/v1/experiment/${id}`)).status, 404);
    assert.equal((await call(app, 'GET', `/api/v1/trials/${trial.id}`)).status, 404);
    await assert.rejects(readFile(join(dataDir, 'logs', id, `${id}-worker-0`, 'stdout')));
  });

  it('retries a failed trial up to maxRestarts', async () => {
    const counter = join(tempDir(), 'attempts');
    const app = await testApp(join(tempDir(), 'db.sqlite'));
    const id = await create(app, {
      meta: { name: 'flaky', framework: 'Custom', cmd: 'echo x >> "$COUNTER"; test "$(wc -l < "$COUNTER")" -ge 3', envVars: { COUNTER: counter } },
      spec: { Worker: {} },
      maxRestarts: 2,
    });
    assert.equal((await waitForStatus(app, id, ['Succeeded', 'Failed'])).status, 'Succeeded');
    assert.equal((await readFile(counter, 'utf8')).split('\n').filter(Boolean).length, 3);
    const trial = (await call(app, 'GET', `/api/v1/experiment/${id}/trials`)).body.result[0];
    assert.equal(trial.restarts, 2);
  });

  it('runs uploaded code (PUT /api/v1/code/{sha256}, syncMode upload)', async () => {
    const app = await testApp(join(tempDir(), 'db.sqlite'));
    const archive = tarGz([{ path: 'pkg/', type: 'Directory' }, { path: 'pkg/run.sh', body: 'echo "uploaded code says $1"\n' }]);
    const digest = sha256(archive);
    const put = await app.http.inject({ method: 'PUT', url: `/api/v1/code/${digest}`, payload: archive, headers: { 'content-type': 'application/gzip', ...adminHeaders(app) } });
    assert.equal(put.statusCode, 200, put.body);
    const id = await create(app, { ...custom('sh pkg/run.sh hi'), code: { syncMode: 'upload', url: digest } });
    assert.equal((await waitForStatus(app, id, ['Succeeded', 'Failed'])).status, 'Succeeded');
    assert.deepEqual((await call(app, 'GET', `/api/v1/experiment/logs/${id}`)).body.result.logContent[0].podLog, ['uploaded code says hi']);
  });

  it('does not hand the server configuration (PERISCOPE_DB…) to executors', async () => {
    process.env.PERISCOPE_DB = 'postgres://user:secret@db/periscope';
    try {
      const app = await testApp(join(tempDir(), 'db.sqlite'));
      const id = await create(app, custom('echo "db=[$PERISCOPE_DB] experiment=$PERISCOPE_EXPERIMENT_ID"'));
      await waitForStatus(app, id, ['Succeeded']);
      assert.deepEqual((await call(app, 'GET', `/api/v1/experiment/logs/${id}`)).body.result.logContent[0].podLog, [`db=[] experiment=${id}`]);
    } finally {
      delete process.env.PERISCOPE_DB;
    }
  });

  it('syncs code from a file:// git repository into the work dir', async () => {
    const repo = tempDir();
    const git = (...args: string[]) => assert.equal(spawnSync('git', args, { cwd: repo }).status, 0, args.join(' '));
    git('init', '-q', '-b', 'main');
    mkdirSync(join(repo, 'src'));
    writeFileSync(join(repo, 'src', 'train.sh'), 'echo "training from $(basename "$PWD")"\n');
    git('add', '.');
    git('-c', 'user.email=t@example.com', '-c', 'user.name=t', 'commit', '-qm', 'init');
    const app = await testApp(join(tempDir(), 'db.sqlite'));
    const id = await create(app, { ...custom('sh src/train.sh'), code: { syncMode: 'git', url: `file://${repo}` } });
    assert.equal((await waitForStatus(app, id, ['Succeeded', 'Failed'])).status, 'Succeeded');
    assert.deepEqual((await call(app, 'GET', `/api/v1/experiment/logs/${id}`)).body.result.logContent[0].podLog, ['training from trial-1']);

    const broken = await create(app, { ...custom('true'), code: { syncMode: 'git', url: `file://${repo}/missing` } });
    assert.equal((await waitForStatus(app, broken, ['Succeeded', 'Failed'])).status, 'Failed');
    const trial = (await call(app, 'GET', `/api/v1/experiment/${broken}/trials`)).body.result[0];
    assert.match(trial.message, /^Code sync failed: git clone of file:\/\/.*missing/);
    const podLog = (await call(app, 'GET', `/api/v1/experiment/logs/${broken}`)).body.result.logContent[0].podLog;
    assert.match(podLog[0], /periscope: Code sync failed/);
  });
});
