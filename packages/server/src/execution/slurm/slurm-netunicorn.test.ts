/**
 * A netunicorn pipeline on a real Slurm cluster (scripts/slurm-dev-cluster.sh: node1 and node2): the client's
 * requests over HTTP to /netunicorn, one deployment per Slurm node, each executor a Slurm step on its node that
 * reaches the gateway and reports. The executor is the stdlib stand-in of the netunicorn tests
 * (netunicorn/testing/python), since the real netunicorn-executor cannot be installed without PyPI. SQLite only:
 * the face's storage is covered on both databases by the replay test; this one is about where executors run.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { after, it } from 'node:test';
import { join } from 'node:path';
import { call, testApp } from '../../testing/app.js';
import { eventually, tempDir } from '../../testing/databases.js';
import { cancelPeriscopeJobs, slurmSkip } from '../../testing/slurm.js';

after(cancelPeriscopeJobs);

const PYTHONPATH = fileURLToPath(new URL('../../netunicorn/testing/python', import.meta.url));

it('runs a netunicorn experiment with a deployment on each Slurm node; each result comes back byte for byte', { skip: slurmSkip, timeout: 110_000 }, async () => {
  const app = await testApp(join(tempDir(), 'db.sqlite'), { launcher: { kind: 'slurm', defaults: {} } });
  await app.http.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.http.server.address() as { port: number }).port}`;
  app.execution.setApiUrl(base);
  await app.users.create({ username: 'alice', password: 'alice-password', admin: false });
  const form = await fetch(`${base}/netunicorn/api/v1/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'username=alice&password=alice-password' });
  assert.equal(form.status, 200);
  const headers = { authorization: `Bearer ${((await form.json()) as { access_token: string }).access_token}` };

  const pool: any = (await call(app, 'GET', '/netunicorn/api/v1/nodes', undefined, headers)).body;
  assert.equal(pool.node_pool_type, 'CountableNodePool');
  const names = pool.node_pool_data.map((n: any) => n.name).sort();
  assert.deepEqual(names, ['node1', 'node2']);
  assert.ok(pool.node_pool_data.every((n: any) => n.properties['netunicorn-environments'].includes('ShellExecution')));

  // Opaque bytes (a NUL, non-UTF-8) ending in the stand-in's directives: count the executors in flag `done`.
  const graphs = names.map(() => Buffer.concat([randomBytes(512), Buffer.from([0xff, 0x00]), Buffer.from('\0{"increment":"done"}')]));
  const deployment_map = pool.node_pool_data
    .sort((a: any, b: any) => a.name.localeCompare(b.name))
    .map((node: any, i: number) => ({ node, prepared: false, executor_id: '', error: null, execution_graph: graphs[i]!.toString('base64'), keep_alive_timeout_minutes: 10, cleanup: true, environment_definition: { commands: ['echo on "$SLURMD_NODENAME"'], runtime_context: { ports_mapping: {}, environment_variables: { PYTHONPATH }, additional_arguments: [], network: 'host' } }, environment_definition_type: 'ShellExecution' }));
  const prepared = await call(app, 'POST', '/netunicorn/api/v1/experiment/on-slurm/prepare', { deployment_map, deployment_context: null }, headers);
  assert.equal(prepared.status, 200, prepared.body?.message);
  const status = async (): Promise<any> => (await call(app, 'GET', '/netunicorn/api/v1/experiment/on-slurm', undefined, headers)).body;
  await eventually('READY', async () => (await status()).status === 2);
  assert.equal((await call(app, 'POST', '/netunicorn/api/v1/experiment/on-slurm/start', undefined, headers)).status, 200);

  const done = await eventually('FINISHED', async () => { const info = await status(); return info.status === 4 && info; }, 90_000);
  assert.deepEqual(done.execution_result.map((r: any) => [r.node.name, r.error]), [['node1', null], ['node2', null]], JSON.stringify(done.execution_result).slice(0, 2000));
  done.execution_result.forEach((r: any, i: number) => assert.deepEqual(Buffer.from(r.result, 'base64'), Buffer.from(graphs[i]!).reverse(), `${r.node.name}'s report`));
  const flag: any = (await call(app, 'GET', '/netunicorn/api/v1/experiment/on-slurm/flag/done', undefined, headers)).body;
  assert.equal(flag.int_value, 2, JSON.stringify(flag));

  // The executors ran as Slurm steps, each on its deployment's node.
  const [record] = (await app.experiments.list({ owner: 'alice' })).experiments;
  const [trial] = (await call(app, 'GET', `/api/v1/experiment/${record!.experimentId}/trials`, undefined, headers)).body.result;
  assert.deepEqual(trial.executors.map((e: any) => e.node).sort(), ['node1', 'node2']);
  const logs = (await call(app, 'GET', `/api/v1/experiment/logs/${record!.experimentId}`, undefined, headers)).body.result.logContent;
  assert.deepEqual(logs.map((l: any) => l.podLog[0]).sort(), ['on node1', 'on node2'], JSON.stringify(logs));
});
