import { createApp } from '/work/main/packages/server/src/app.ts';
import { adminToken } from '/work/main/packages/server/src/testing/admin-token.ts';
import { mkdtempSync } from 'node:fs';
async function measure(auth: 'token' | 'none') {
  const dir = mkdtempSync('/tmp/ac-');
  const app = await createApp({ database: dir + '/db', dataDir: dir, auth });
  const token = await adminToken(app);
  await app.users.create({ username: 'alice', password: 'pw' });
  const alice = (await app.users.issueToken('alice')).token;
  const headers = auth === 'token' ? { authorization: `Bearer ${alice}` } : {};
  const id = (await app.http.inject({ method: 'POST', url: '/api/v1/experiment', headers: { ...headers, 'content-type': 'application/json' }, payload: JSON.stringify({ meta: { name: 'x', framework: 'Custom', cmd: 'true' }, spec: { Worker: {} }, autoStart: false }) })).json().result.experimentId;
  for (let i = 0; i < 500; i++) await app.http.inject({ url: `/api/v1/experiment/${id}`, headers });
  const n = 4000;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await app.http.inject({ url: `/api/v1/experiment/${id}`, headers });
  const us = ((performance.now() - t0) / n) * 1000;
  await app.close();
  void token;
  return us;
}
const rows: string[] = [];
for (let round = 0; round < 3; round++) {
  const none = await measure('none');
  const tok = await measure('token');
  rows.push(`round ${round}: none ${none.toFixed(0)} µs/req, token(non-admin, owner check) ${tok.toFixed(0)} µs/req, +${(tok - none).toFixed(0)} µs`);
}
console.log(rows.join('\n'));
