/**
 * Experiments on a real Slurm cluster (scripts/slurm-dev-cluster.sh: node1 and node2 on this machine), through
 * the whole server, on both databases: a PyTorch gang across two nodes with MASTER_ADDR from rank 0's node,
 * nodes and health from Slurm, pending reasons from Slurm, cancel, restarts, bad input, and re-attaching by job
 * id after the server is gone.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { call, create, testApp, waitForStatus } from '../../testing/app.js';
import { DATABASES, eventually, tempDir } from '../../testing/databases.js';
import { cancelPeriscopeJobs, runningHere, slurmSkip } from '../../testing/slurm.js';

// Steps a test left waiting for their launch (its server gone on purpose) must not hold the cluster.
after(cancelPeriscopeJobs);

const slurm = { kind: 'slurm' as const, defaults: {} };
const custom = (cmd: string, extra: object = {}, roles: object = { Worker: {} }) => ({ meta: { name: 'job', framework: 'Custom', cmd }, spec: roles, ...extra });

for (const database of DATABASES) {
  describe(`slurm execution on ${database.name}`, { skip: database.skip || slurmSkip }, () => {
    it('runs a PyTorch gang across two nodes: MASTER_ADDR is rank 0’s node, NODE_RANK per node, the worker talks to rank 0', async () => {
      const app = await testApp(await database.fresh(), { launcher: slurm });
      const env = 'print("env", os.environ["RANK"], os.environ["WORLD_SIZE"], os.environ["NODE_RANK"], os.environ["LOCAL_RANK"], os.environ["MASTER_ADDR"], os.environ["SLURMD_NODENAME"])';
      const master = `import os,socket; ${env}; s=socket.create_server(("", int(os.environ["MASTER_PORT"]))); c,_=s.accept(); print("got", c.recv(100).decode()); c.sendall(b"ack")`;
      const worker = `import os,socket,time\n${env}\nfor i in range(400):\n  try:\n    c=socket.create_connection((os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]))); break\n  except OSError: time.sleep(0.05)\nc.sendall(b"hello"); print("got", c.recv(100).decode())`;
      const id = await create(app, {
        meta: { name: 'pt-slurm', framework: 'PyTorch', cmd: 'unused' },
        spec: { Master: { cmd: `python3 -c '${master}'`, nodes: ['node1'], resources: 'cpu=1,memory=256M' }, Worker: { cmd: `python3 -c '${worker}'`, nodes: ['node2'], resources: 'cpu=1,memory=256M' } },
      });
      const done = await waitForStatus(app, id, ['Succeeded', 'Failed']);
      const logs = (await call(app, 'GET', `/api/v1/experiment/logs/${id}`)).body.result.logContent;
      assert.equal(done.status, 'Succeeded', JSON.stringify(logs));
      assert.deepEqual(logs, [
        { podName: `${id}-master-0`, podLog: ['env 0 2 0 0 127.0.0.1 node1', 'got hello'] },
        { podName: `${id}-worker-0`, podLog: ['env 1 2 1 0 127.0.0.1 node2', 'got ack'] },
      ]);
      const [trial] = (await call(app, 'GET', `/api/v1/experiment/${id}/trials`)).body.result;
      assert.deepEqual(trial.executors.map((e: any) => [e.name, e.node]), [[`${id}-master-0`, 'node1'], [`${id}-worker-0`, 'node2']]);
    });

    it('lists Slurm’s nodes with their features as labels, and health names the launcher and its controller', async () => {
      const app = await testApp(await database.fresh(), { launcher: slurm });
      const nodes = (await call(app, 'GET', '/api/v1/nodes')).body.result;
      assert.deepEqual(nodes.map((n: any) => [n.name, n.state, n.labels.dev]), [['node1', 'READY', 'true'], ['node2', 'READY', 'true']]);
      assert.ok(nodes.every((n: any) => n.cpus > 0 && n.memoryMb > 0));
      assert.deepEqual((await call(app, 'GET', '/api/v1/nodes?label=node2=true')).body.result.map((n: any) => n.name), ['node2']);
      const health = (await call(app, 'GET', '/api/v1/health')).body.result;
      assert.equal(health.launcher.kind, 'slurm');
      assert.equal(health.launcher.nodes, 2);
      assert.match(health.launcher.controller, /UP/);
    });

    it('says why a trial waits in Slurm’s words, and cancels queued and running trials leaving no process', async () => {
      const app = await testApp(await database.fresh(), { launcher: slurm });
      const pending: string[] = [];
      app.execution.bus.on('trial.pending', (p) => pending.push(p.reason));
      const marker = `${7000 + (process.pid % 1000)}.${Date.now() % 100_000}`;
      // Two executors fill both nodes' CPUs; the next experiment waits for them.
      const big = await create(app, custom(`sleep ${marker}`, {}, { Worker: { replicas: 2, resources: 'cpu=4,memory=256M' } }));
      await eventually('the big gang to run', () => runningHere(marker));
      const small = await create(app, custom('echo never', {}, { Worker: { resources: 'cpu=1' } }));
      await eventually('Slurm’s pending reason', () => pending.find((r) => /^Slurm: (Resources|Priority)/.test(r)));
      // The API says so too: the trial waits with Slurm's reason, its executor Pending, the experiment not Running.
      const waiting = await eventually('the reason on the trial', async () => {
        const [t] = (await call(app, 'GET', `/api/v1/experiment/${small}/trials`)).body.result;
        return /^Waiting: Slurm: (Resources|Priority)/.test(t?.message ?? '') ? t : undefined;
      });
      assert.deepEqual(waiting.executors.map((x: any) => [x.state, x.startedTime]), [['Pending', null]]);
      assert.equal((await call(app, 'GET', `/api/v1/experiment/${small}`)).body.result.status, 'Created');
      const [bigTrial] = (await call(app, 'GET', `/api/v1/experiment/${big}/trials`)).body.result;
      assert.deepEqual([bigTrial.message, bigTrial.executors.map((x: any) => x.state)], [null, ['Running', 'Running']]);
      assert.equal((await call(app, 'GET', `/api/v1/experiment/${big}`)).body.result.status, 'Running');
      assert.equal((await call(app, 'DELETE', `/api/v1/experiment/${small}`)).status, 200);
      assert.equal((await call(app, 'DELETE', `/api/v1/experiment/${big}`)).status, 200);
      await eventually('the big gang to be gone', () => !runningHere(marker));
      const [trial] = (await call(app, 'GET', `/api/v1/experiment/${big}/trials`)).body.result ?? [{}];
      if (trial.state) assert.equal(trial.state, 'Canceled');
    });

    it('restarts a failed trial (maxRestarts) and fails bad input with Slurm’s own words, never a 500', async () => {
      const app = await testApp(await database.fresh(), { launcher: slurm });
      const flag = join(tempDir(), 'second');
      const flaky = await create(app, custom(`if [ -e ${flag} ]; then echo second; else touch ${flag}; exit 1; fi`, { maxRestarts: 1 }));
      const badPartition = await create(app, custom('true', { slurm: { partition: 'no-such-partition' } }));
      const tooBig = await create(app, custom('true', {}, { Worker: { resources: 'cpu=1,gpu=1' } }));
      assert.equal((await waitForStatus(app, flaky, ['Succeeded', 'Failed'])).status, 'Succeeded');
      const failed = await waitForStatus(app, badPartition, ['Succeeded', 'Failed']);
      assert.equal(failed.status, 'Failed');
      const [trial] = (await call(app, 'GET', `/api/v1/experiment/${badPartition}/trials`)).body.result;
      assert.match(trial.message, /sbatch.*(invalid partition|no-such-partition)/i);
      assert.equal((await waitForStatus(app, tooBig, ['Succeeded', 'Failed'])).status, 'Failed');
      const [big] = (await call(app, 'GET', `/api/v1/experiment/${tooBig}/trials`)).body.result;
      assert.match(big.message, /no Slurm node has that much/);
      const refused = await call(app, 'POST', '/api/v1/experiment', custom('true', { slurm: { partition: 'a b; rm -rf /' } }));
      assert.equal(refused.status, 400);
    });

    it('runs a grid search whose trials report through periscope.py, and a prepared experiment once started', async () => {
      const dir = tempDir();
      writeFileSync(join(dir, 'train.py'), 'import periscope\nctx = periscope.init()\nx = float(ctx.hparams["x"])\nfor step in range(1, 3):\n    ctx.report_validation_metrics(step, {"loss": (x - 2) ** 2 + 1.0 / step})\n');
      const app = await testApp(await database.fresh(), { launcher: slurm });
      await app.http.listen({ host: '127.0.0.1', port: 0 });
      app.execution.setApiUrl(`http://127.0.0.1:${(app.http.server.address() as { port: number }).port}`);
      const search = await create(app, {
        ...custom(`python3 ${join(dir, 'train.py')}`),
        hyperparameters: { x: { type: 'categorical', vals: [1, 2, 3] } },
        searcher: { name: 'grid', metric: 'loss' },
      });
      const parked = await create(app, custom('echo started after prepare', { autoStart: false }));
      assert.equal((await call(app, 'POST', `/api/v1/experiment/${parked}/start`)).status, 200);
      assert.equal((await waitForStatus(app, parked, ['Succeeded', 'Failed'])).status, 'Succeeded');
      assert.deepEqual((await call(app, 'GET', `/api/v1/experiment/logs/${parked}`)).body.result.logContent[0].podLog, ['started after prepare']);
      const done = await waitForStatus(app, search, ['Succeeded', 'Failed'], 90_000);
      const trials = (await call(app, 'GET', `/api/v1/experiment/${search}/trials`)).body.result;
      assert.equal(done.status, 'Succeeded', JSON.stringify(trials.map((t: any) => [t.state, t.message])));
      assert.deepEqual(trials.map((t: any) => [t.state, t.hparams.x]).sort(), [['Succeeded', 1], ['Succeeded', 2], ['Succeeded', 3]]);
      const best = trials.find((t: any) => t.hparams.x === 2);
      const metrics = (await call(app, 'GET', `/api/v1/trials/${best.id}/metrics?group=validation`)).body.result;
      assert.deepEqual(metrics.map((m: any) => [m.stepsCompleted, m.metrics.loss]), [[1, 1], [2, 0.5]], 'the reports reached the server from the Slurm steps');
    });

    it('re-attaches by job id after the server is gone: the job runs on and its end is recorded', async () => {
      const dataDir = tempDir();
      const db = await database.fresh();
      const gate = join(tempDir(), 'gate');
      const first = await testApp(db, { dataDir, launcher: slurm });
      const id = await create(first, custom(`until [ -e ${gate} ]; do sleep 0.05; done; echo finished`));
      await eventually('the step to start', async () => (await call(first, 'GET', `/api/v1/experiment/${id}`)).body.result.status === 'Running');
      await first.close();
      writeFileSync(gate, '');
      const second = await testApp(db, { dataDir, launcher: slurm });
      const done = await waitForStatus(second, id, ['Succeeded', 'Failed']);
      assert.equal(done.status, 'Succeeded');
      assert.deepEqual((await call(second, 'GET', `/api/v1/experiment/logs/${id}`)).body.result.logContent[0].podLog, ['finished']);
    });
  });
}
