/**
 * The data dir is the server's: created closed to other users (0700), the SQLite file 0600, and a deleted
 * experiment leaves nothing behind in it (logs, chunk indexes, work dirs).
 */
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { createApp } from './app.js';
import { adminToken } from './testing/admin-token.js';
import { tempDir } from './testing/databases.js';

it('creates the data dir 0700 and the SQLite file 0600, and a delete removes logs, indexes and work dirs', async () => {
  const dataDir = join(tempDir(), 'data');
  const app = await createApp({ database: join(dataDir, 'periscope.db'), dataDir, passwordCost: 1024 });
  after(() => app.close());
  assert.equal(statSync(dataDir).mode & 0o777, 0o700);
  assert.equal(statSync(join(dataDir, 'periscope.db')).mode & 0o777, 0o600);

  const headers = { authorization: `Bearer ${await adminToken(app)}`, 'content-type': 'application/json' };
  const created = await app.http.inject({ method: 'POST', url: '/api/v1/experiment', headers, payload: { meta: { name: 'echo', framework: 'Custom', cmd: 'echo hi' }, spec: { Worker: { resources: 'cpu=0.1,memory=64M' } } } });
  const id = created.json().result.experimentId as string;
  const deadline = Date.now() + 30_000;
  while ((await app.http.inject({ method: 'GET', url: `/api/v1/experiment/${id}`, headers })).json().result.status !== 'Succeeded') {
    assert.ok(Date.now() < deadline, 'the experiment did not succeed in 30 s');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const dirs = ['logs', 'index', 'work'].map((d) => join(dataDir, d, id));
  for (const dir of dirs) assert.ok(existsSync(dir), `${dir} exists while the experiment does`);
  assert.equal((await app.http.inject({ method: 'DELETE', url: `/api/v1/experiment/${id}`, headers })).statusCode, 200);
  for (const dir of dirs) assert.ok(!existsSync(dir), `${dir} is gone after the delete`);
});
