/** The netunicorn face refuses what it cannot run and lets nobody but an executor's own trial through its gateway. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { it } from 'node:test';
import { call, testApp, userHeaders } from '../testing/app.js';
import { eventually, tempDir } from '../testing/databases.js';
import { MAX_REPORT_BYTES } from './wire.js';

const deployment = (node: string, overrides: object = {}) => ({
  node: { name: node, properties: {}, additional_properties: {}, architecture: 'linux/amd64' },
  prepared: false,
  executor_id: '',
  error: null,
  execution_graph: Buffer.from('opaque').toString('base64'),
  environment_definition: { commands: [], runtime_context: { environment_variables: {} } },
  environment_definition_type: 'ShellExecution',
  ...overrides,
});

it('refuses Docker deployments, unknown nodes, non-base64 graphs; takes Basic; guards the gateway by its secret', async () => {
  const app = await testApp(join(tempDir(), 'db.sqlite'));
  try {
    // Users with password `<name>-password`.
    const alice = await userHeaders(app, 'alice');
    const bob = await userHeaders(app, 'bob');
    const basic = (user: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${user}-password`).toString('base64')}` });
    const node = (await app.execution.launcher.nodes())[0]!.name;
    const prepare = (body: object, who = basic('alice')) => call(app, 'POST', '/netunicorn/api/v1/experiment/x/prepare', body, who);

    const docker = await prepare({ deployment_map: [deployment(node, { environment_definition_type: 'DockerImage' })], deployment_context: null });
    assert.equal(docker.status, 400);
    assert.match(docker.body.message, /deployment_map\.0\.environment_definition_type: "DockerImage" is not supported/);
    const unknown = await prepare({ deployment_map: [deployment('elsewhere')] });
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.message, /no node named "elsewhere"/);
    const pickled = await prepare({ deployment_map: [deployment(node, { execution_graph: 'not base64!' })] });
    assert.equal(pickled.status, 400);
    const wrong = await call(app, 'GET', '/netunicorn/api/v1/nodes', undefined, { authorization: `Basic ${Buffer.from('alice:nope').toString('base64')}` });
    assert.equal(wrong.status, 401);

    // Basic works as well as a token; the experiment is alice's alone.
    const prepared = await prepare({ deployment_map: [deployment(node)], deployment_context: null });
    assert.equal(prepared.status, 200, prepared.body?.message);
    assert.equal(prepared.body, 'x');
    assert.equal((await call(app, 'GET', '/netunicorn/api/v1/experiment/x', undefined, basic('bob'))).status, 404);
    const info = await eventually('x to be READY', async () => {
      const answer: any = (await call(app, 'GET', '/netunicorn/api/v1/experiment/x', undefined, basic('alice'))).body;
      return answer.status === 2 && answer;
    });
    const record = (await app.experiments.list({ owner: 'alice' })).experiments[0]!;
    const trialOf = async (id: string, who: Record<string, string>) => (await call(app, 'GET', `/api/v1/experiment/${id}/trials`, undefined, who)).body.result[0];
    const executor = await trialOf(record.experimentId, alice);
    const executorId = executor.executors[0]!.name;
    assert.equal(info.experiment.deployment_map[0].executor_id, executorId);

    const gateway = (secret: string) => `/netunicorn/gateway/${encodeURIComponent(secret)}/api/v1`;
    const graph = (secret: string, id = executorId) => call(app, 'GET', `${gateway(secret)}/executor/execution_graph?executor_id=${id}`, undefined, { authorization: '' });
    const own = await app.users.issueTaskToken('alice', executor.id, record.experimentId);
    const answered = await graph(own);
    assert.equal(answered.status, 200);
    assert.equal(answered.body, Buffer.from('opaque').toString('base64'), 'relayed as prepared');
    assert.equal((await graph('pst_AAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB')).status, 401);
    assert.equal((await graph((await app.users.issueToken('alice')).token)).status, 403, "a user's token is not an executor's");
    const other = await call(app, 'POST', '/api/v1/experiment', { meta: { name: 'other', framework: 'Custom', cmd: 'true' }, spec: { Worker: { resources: 'cpu=0.1,memory=64M' } }, autoStart: false }, bob);
    const otherTrial = await trialOf(other.body.result.experimentId, bob);
    const bobs = await app.users.issueTaskToken('bob', otherTrial.id, other.body.result.experimentId);
    assert.equal((await graph(bobs)).status, 404, "another trial's executor is not found behind this gateway");
    const flag = await call(app, 'POST', `${gateway(bobs)}/experiment/${record.experimentId}/flag/go/increment`, undefined, { authorization: '' });
    assert.equal(flag.status, 403, "another experiment's flags");

    const huge = await call(app, 'POST', `${gateway(own)}/executor/result`, { executor_id: executorId, results: 'A'.repeat(MAX_REPORT_BYTES + 16), state: 2 }, { authorization: '' });
    assert.equal(huge.status, 413);
    assert.equal(huge.body.status, 'PAYLOAD_TOO_LARGE');
    const reported = await call(app, 'POST', `${gateway(own)}/executor/result/`, { executor_id: executorId, results: Buffer.from([0, 255, 1]).toString('base64'), state: 1 }, { authorization: '' });
    assert.equal(reported.status, 200, reported.body?.message);
  } finally {
    await app.close();
  }
});
