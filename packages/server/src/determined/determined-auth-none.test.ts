/**
 * With `--auth none` the Determined SDK still logs in first (as `determined` with no password, its default):
 * the login answers the first admin's token whatever the credentials, hashed or not, and `me` names that admin.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { it } from 'node:test';
import { testApp } from '../testing/app.js';
import { tempDir } from '../testing/databases.js';
import { FIRST_ADMIN } from '../users/service.js';

it('--auth none: any Determined login is the first admin\'s, and the token it answers works', async () => {
  const app = await testApp(join(tempDir(), 'db.sqlite'), { auth: 'none' });
  for (const body of [{ username: 'determined', password: '' }, { username: 'someone', password: 'a'.repeat(128), isHashed: true }]) {
    const login = await app.http.inject({ method: 'POST', url: '/determined/api/v1/auth/login', payload: JSON.stringify(body) });
    assert.equal(login.statusCode, 200, login.body);
    const { token, user } = login.json() as { token: string; user: { username: string; admin: boolean } };
    assert.equal(user.username, FIRST_ADMIN);
    const me = await app.http.inject({ method: 'GET', url: '/determined/api/v1/me', headers: { authorization: `Bearer ${token}` } });
    assert.equal(me.statusCode, 200, me.body);
    assert.equal((me.json() as { user: { username: string; admin: boolean } }).user.admin, true);
  }
  // The same server with auth on refuses that login (403, Determined's answer to a bad password).
  const guarded = await testApp(join(tempDir(), 'db.sqlite'));
  const refused = await guarded.http.inject({ method: 'POST', url: '/determined/api/v1/auth/login', payload: JSON.stringify({ username: 'determined', password: '' }) });
  assert.equal(refused.statusCode, 403, refused.body);
});
