/**
 * With `--auth none` a netunicorn client still logs in first (it always does): the token route answers a
 * token whatever the credentials, the token verifies, and the client's calls act as the first admin, as every
 * request does in that mode.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { it } from 'node:test';
import { testApp } from '../testing/app.js';
import { tempDir } from '../testing/databases.js';
import { FIRST_ADMIN } from '../users/service.js';

it('--auth none: the token route hands any login a token, and the face serves the client as the first admin', async () => {
  const app = await testApp(join(tempDir(), 'db.sqlite'), { auth: 'none' });
  const login = await app.http.inject({ method: 'POST', url: '/netunicorn/api/v1/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'username=anyone&password=whatever' });
  assert.equal(login.statusCode, 200, login.body);
  const { access_token: token, token_type: type } = login.json() as { access_token: string; token_type: string };
  assert.equal(type, 'bearer');
  assert.ok(token.length > 20, token);
  const bearer = { authorization: `Bearer ${token}` };
  assert.equal((await app.http.inject({ method: 'GET', url: '/netunicorn/api/v1/verify_token', headers: bearer })).statusCode, 200);

  const node = (await app.execution.launcher.nodes())[0]!.name;
  const deployment = { node: { name: node, properties: {}, additional_properties: {}, architecture: 'linux/amd64' }, prepared: false, executor_id: '', error: null, execution_graph: Buffer.from('g').toString('base64'), environment_definition: { commands: [], runtime_context: { environment_variables: {} } }, environment_definition_type: 'ShellExecution' };
  const prepared = await app.http.inject({ method: 'POST', url: '/netunicorn/api/v1/experiment/open/prepare', headers: bearer, payload: { deployment_map: [deployment], deployment_context: null } });
  assert.equal(prepared.statusCode, 200, prepared.body);
  // Without any credential too: in this mode every request is the first admin's, so both see the same experiment.
  const listed = await app.http.inject({ method: 'GET', url: '/netunicorn/api/v1/experiment' });
  assert.equal(listed.statusCode, 200, listed.body);
  assert.deepEqual(Object.keys(listed.json() as object), ['open']);
  assert.equal((await app.experiments.list({ owner: FIRST_ADMIN })).experiments.length, 1, 'the first admin owns it');
});
