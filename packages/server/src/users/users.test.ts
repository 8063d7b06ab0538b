/** Login, logout, /me and admin user management over the real routes, on both databases. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { call, create, testApp, userHeaders, waitForStatus } from '../testing/app.js';
import { DATABASES } from '../testing/databases.js';
import { LoginLimiter } from './login-limiter.js';
import { hashPassword, verifyPassword } from './passwords.js';

const none = { authorization: '' };
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

for (const database of DATABASES) {
  describe(`users and login on ${database.name}`, { skip: database.skip }, () => {
    it('logs in with the password and answers a token that works; a wrong password or user is one 401', async () => {
      // The production cost, whose prefix the stored hash is checked for below.
      const app = await testApp(await database.fresh(), { passwordCost: 16384 });
      const created = await call(app, 'POST', '/api/v1/users', { username: 'alice', password: 'correct horse' });
      assert.equal(created.status, 200, created.body.message);
      assert.deepEqual({ ...created.body.result, id: 0, createdTime: '' }, { id: 0, username: 'alice', admin: false, active: true, createdTime: '' });
      const login = await call(app, 'POST', '/api/v1/auth/login', { username: 'alice', password: 'correct horse' }, none);
      assert.equal(login.status, 200, login.body.message);
      assert.match(login.body.result.token, /^pst_[\w-]{16}\.[\w-]{43}$/);
      assert.ok(Date.parse(login.body.result.expiresTime) > Date.now() + 29 * 24 * 3600_000);
      assert.equal((await call(app, 'GET', '/api/v1/me', undefined, bearer(login.body.result.token))).body.result.username, 'alice');
      const wrong = await call(app, 'POST', '/api/v1/auth/login', { username: 'alice', password: 'wrong' }, none);
      const nobody = await call(app, 'POST', '/api/v1/auth/login', { username: 'nobody', password: 'wrong' }, none);
      assert.equal(wrong.status, 401);
      assert.deepEqual(wrong.body, nobody.body);
      // The password is stored as an scrypt hash, never in clear.
      const row = await app.db.kysely.selectFrom('users').select('password_hash').where('username', '=', 'alice').executeTakeFirstOrThrow();
      assert.match(row.password_hash, /^scrypt\$16384\$8\$1\$/);
      assert.ok(!row.password_hash.includes('correct horse'));
    });

    it('logout revokes exactly the token it was sent with', async () => {
      const app = await testApp(await database.fresh());
      await userHeaders(app, 'alice');
      const first = (await call(app, 'POST', '/api/v1/auth/login', { username: 'alice', password: 'alice-password' }, none)).body.result.token;
      const second = (await call(app, 'POST', '/api/v1/auth/login', { username: 'alice', password: 'alice-password' }, none)).body.result.token;
      // Used first, so a server that remembers recent tokens must forget this one on logout.
      assert.equal((await call(app, 'GET', '/api/v1/me', undefined, bearer(first))).status, 200);
      assert.equal((await call(app, 'POST', '/api/v1/auth/logout', undefined, bearer(first))).status, 200);
      assert.equal((await call(app, 'GET', '/api/v1/me', undefined, bearer(first))).status, 401);
      assert.equal((await call(app, 'GET', '/api/v1/me', undefined, bearer(second))).status, 200);
      const refused = await call(app, 'GET', '/api/v1/me', undefined, bearer(first));
      assert.equal(refused.body.status, 'UNAUTHORIZED');
    });

    it('deactivating a user or setting their password ends their sessions; a deactivated user cannot log in', async () => {
      const app = await testApp(await database.fresh());
      const alice = await userHeaders(app, 'alice');
      assert.equal((await call(app, 'GET', '/api/v1/me', undefined, alice)).status, 200);
      const reset = await call(app, 'PATCH', '/api/v1/users/alice', { password: 'new secret' });
      assert.equal(reset.status, 200, reset.body.message);
      assert.equal((await call(app, 'GET', '/api/v1/me', undefined, alice)).status, 401);
      const again = await call(app, 'POST', '/api/v1/auth/login', { username: 'alice', password: 'new secret' }, none);
      assert.equal(again.status, 200);
      const deactivated = await call(app, 'PATCH', '/api/v1/users/alice', { active: false });
      assert.equal(deactivated.body.result.active, false);
      assert.equal((await call(app, 'GET', '/api/v1/me', undefined, bearer(again.body.result.token))).status, 401);
      assert.equal((await call(app, 'POST', '/api/v1/auth/login', { username: 'alice', password: 'new secret' }, none)).status, 401);
      assert.equal((await call(app, 'PATCH', '/api/v1/users/alice', { active: true })).body.result.active, true);
      assert.equal((await call(app, 'POST', '/api/v1/auth/login', { username: 'alice', password: 'new secret' }, none)).status, 200);
    });

    it('grants admin, keeps the last active admin, refuses a taken name and bad input with clear 4xx', async () => {
      const app = await testApp(await database.fresh());
      const bob = await userHeaders(app, 'bob');
      assert.equal((await call(app, 'GET', '/api/v1/users', undefined, bob)).status, 403);
      const last = await call(app, 'PATCH', '/api/v1/users/admin', { admin: false });
      assert.equal(last.status, 409);
      assert.match(last.body.message, /last active admin/);
      assert.equal((await call(app, 'PATCH', '/api/v1/users/bob', { admin: true })).body.result.admin, true);
      // Bob's token, refused a moment ago, now carries admin rights at once.
      assert.equal((await call(app, 'GET', '/api/v1/users', undefined, bob)).body.result.length, 2);
      assert.equal((await call(app, 'PATCH', '/api/v1/users/admin', { active: false }, bob)).status, 200);
      const taken = await call(app, 'POST', '/api/v1/users', { username: 'bob', password: 'x' }, bob);
      assert.equal(taken.status, 409);
      assert.match(taken.body.message, /already exists/);
      for (const [body, field] of [
        [{ username: '../etc', password: 'x' }, /username/],
        [{ username: 'carol', password: '' }, /password/],
        [{ username: 'carol' }, /password: is required/],
      ] as const) {
        const answer = await call(app, 'POST', '/api/v1/users', body, bob);
        assert.equal(answer.status, 400, JSON.stringify(body));
        assert.match(answer.body.message, field);
      }
      assert.equal((await call(app, 'PATCH', '/api/v1/users/bob', {}, bob)).status, 400);
      assert.equal((await call(app, 'PATCH', '/api/v1/users/nobody', { admin: true }, bob)).status, 404);
    });

    it('counts a login before checking its password: 60 parallel guesses get 10 password checks, the rest 429', async () => {
      const app = await testApp(await database.fresh());
      await userHeaders(app, 'alice');
      const answers = await Promise.all(
        Array.from({ length: 60 }, (_, i) => app.http.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'alice', password: `guess-${i}` } })),
      );
      const statuses = answers.map((a) => a.statusCode);
      assert.equal(statuses.filter((s) => s === 401).length, 10, statuses.join(' '));
      assert.equal(statuses.filter((s) => s === 429).length, 50, statuses.join(' '));
    });

    it("cannot be used to lock a user out: failures from other addresses slow the user's login down, they do not refuse it", async () => {
      const app = await testApp(await database.fresh());
      await userHeaders(app, 'alice');
      for (let i = 0; i < 12; i++) {
        const guess = await app.http.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'alice', password: `guess-${i}` }, remoteAddress: `10.0.1.${i}` });
        assert.equal(guess.statusCode, 401);
      }
      const alice = await app.http.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'alice', password: 'alice-password' }, remoteAddress: '10.0.2.1' });
      assert.equal(alice.statusCode, 200, alice.body);
      // An address that guessed alice's password wrong ten times is refused for her, right password or not.
      for (let i = 0; i < 10; i++) await app.http.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'alice', password: `again-${i}` }, remoteAddress: '10.0.3.1' });
      const locked = await app.http.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'alice', password: 'alice-password' }, remoteAddress: '10.0.3.1' });
      assert.equal(locked.statusCode, 429);
    });

    it('rate-limits failed logins per user and address: the right password is refused too until the window passes (429, Retry-After)', async () => {
      const app = await testApp(await database.fresh());
      await userHeaders(app, 'alice');
      for (let i = 0; i < 10; i++) assert.equal((await call(app, 'POST', '/api/v1/auth/login', { username: 'alice', password: `guess-${i}` }, none)).status, 401);
      const response = await app.http.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'alice', password: 'alice-password' } });
      assert.equal(response.statusCode, 429);
      assert.equal(response.json().status, 'TOO_MANY_REQUESTS');
      const retryAfter = Number(response.headers['retry-after']);
      assert.ok(retryAfter > 0 && retryAfter <= 300, String(retryAfter));
      // Another user from another address is not locked out by alice's attacker.
      await userHeaders(app, 'bob');
      const bob = await app.http.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'bob', password: 'bob-password' }, remoteAddress: '10.0.0.2' });
      assert.equal(bob.statusCode, 200);
    });
  });
}

describe('task tokens', () => {
  it("an executor gets a token of its own trial, which dies when the trial ends", async () => {
    const app = await testApp(await DATABASES[0]!.fresh());
    const id = await create(app, { meta: { name: 'token', framework: 'Custom', cmd: 'echo "$PERISCOPE_TOKEN"' }, spec: { Worker: { resources: 'cpu=0.1,memory=64M' } } });
    await waitForStatus(app, id, ['Succeeded']);
    const [token] = (await call(app, 'GET', `/api/v1/experiment/logs/${id}`)).body.result.logContent[0].podLog;
    assert.match(token, /^pst_/);
    const trial = (await call(app, 'GET', `/api/v1/experiment/${id}/trials`)).body.result[0].id;
    const dead = await call(app, 'GET', `/api/v1/trials/${trial}`, undefined, bearer(token));
    assert.equal(dead.status, 401);
    assert.equal(dead.body.message, 'Invalid token.');
  });
});

describe('login limiter and password hashing', () => {
  it('counts failures per address across users, and forgets them after the window', () => {
    const limiter = new LoginLimiter({ maxFailures: 3, windowMs: 1000 });
    for (const user of ['a', 'b', 'c']) limiter.begin(user, '10.0.0.9', 0);
    assert.throws(() => limiter.begin('d', '10.0.0.9', 500), /Too many failed logins; try again in 1 s/);
    assert.doesNotThrow(() => limiter.begin('d', '10.0.0.8', 500));
    assert.doesNotThrow(() => limiter.begin('d', '10.0.0.9', 1001));
  });

  it('uncounts a success, and slows a user down once failures for them come from many addresses', () => {
    const limiter = new LoginLimiter({ maxFailures: 3, windowMs: 1000, maxUserFailures: 4, slowdownMs: 250 });
    for (let i = 0; i < 5; i++) limiter.begin('a', '10.0.0.1', 0).succeeded();
    assert.doesNotThrow(() => limiter.begin('a', '10.0.0.1', 0));
    for (let i = 0; i < 4; i++) assert.equal(limiter.begin('b', `10.0.1.${i}`, 0).delayMs, 0);
    assert.equal(limiter.begin('b', '10.0.2.1', 0).delayMs, 250);
    assert.equal(limiter.begin('b', '10.0.2.2', 1001).delayMs, 0);
  });

  it('verifies the password it hashed and nothing else; two hashes of one password differ (salted)', async () => {
    const one = await hashPassword('s3cret');
    const two = await hashPassword('s3cret');
    assert.notEqual(one, two);
    assert.equal(await verifyPassword('s3cret', one), true);
    assert.equal(await verifyPassword('s3cret ', one), false);
    assert.equal(await verifyPassword('s3cret', 'plain'), false);
  });
});
