/**
 * Who a client is, against real servers that check tokens: a login with a password (once, and again when the
 * session ends), a token passed as is, the credentials file, none at all; what a refusal says; logout; two
 * masters at once; the module-level `login()`; and that no secret shows in an inspected client or an error.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { credentialsKey, serializeCredentials, withToken, EMPTY_CREDENTIALS } from '@periscope/core';
import { getExperiment, login, Periscope, PeriscopeApiError } from './index.js';
import { init } from './training.js';
import { parkedSpec, startServer, tempDir } from './testing/server.js';

const server = await startServer();
const { master } = server;
await server.app.users.create({ username: 'alice', password: 'alice-pw' });
await server.app.users.create({ username: 'bob', password: 'bob-pw' });

/** A fetch that notes the method and path of each request (to count logins). */
function recorder(): { fetch: typeof fetch; sent: string[] } {
  const sent: string[] = [];
  return {
    sent,
    fetch: (input, init) => {
      sent.push(`${init?.method ?? 'GET'} ${new URL(String(input)).pathname}`);
      return fetch(input, init);
    },
  };
}

const logins = (sent: string[]) => sent.filter((s) => s === 'POST /api/v1/auth/login').length;

/** Runs `body` with PERISCOPE_CREDENTIALS (and PERISCOPE_USER) set as given, restoring them after. */
async function withEnvironment(env: { PERISCOPE_CREDENTIALS?: string; PERISCOPE_USER?: string }, body: () => Promise<void>): Promise<void> {
  const saved = { PERISCOPE_CREDENTIALS: process.env.PERISCOPE_CREDENTIALS, PERISCOPE_USER: process.env.PERISCOPE_USER };
  try {
    for (const [key, value] of Object.entries(env)) process.env[key] = value;
    await body();
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

function rejectsUnauthorized(promise: Promise<unknown>, message: RegExp): Promise<void> {
  return assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof PeriscopeApiError, String(error));
    assert.equal(error.code, 'UNAUTHORIZED');
    assert.equal(error.httpStatus, 401);
    assert.match(error.message, message);
    return true;
  });
}

describe('login with a password', () => {
  it('logs in once, on the first call, and acts as that user', async () => {
    const { fetch, sent } = recorder();
    const alice = new Periscope({ master, user: 'alice', password: 'alice-pw', fetch });
    assert.deepEqual(sent, [], 'nothing is sent before the first call');
    const [me, again] = await Promise.all([alice.whoami(), alice.whoami()]);
    assert.equal(me.username, 'alice');
    assert.equal(me.admin, false);
    assert.equal(again.username, 'alice');
    const created = await alice.experiments.create(parkedSpec('alices'));
    assert.equal((await alice.experiments.get(created.experimentId)).spec.meta.name, 'alices');
    assert.equal(logins(sent), 1, `one login for concurrent and later calls: ${sent.join(', ')}`);
  });

  it('PERISCOPE_USER names the user when the option does not', async () => {
    await withEnvironment({ PERISCOPE_USER: 'bob' }, async () => {
      assert.equal((await new Periscope({ master, password: 'bob-pw' }).whoami()).username, 'bob');
    });
  });

  it('a wrong password is UNAUTHORIZED naming the user and the master', async () => {
    const wrong = new Periscope({ master, user: 'alice', password: 'not-her-password' });
    await rejectsUnauthorized(wrong.whoami(), new RegExp(`^Login as alice at ${master.replaceAll('.', '\\.')} failed: Invalid username or password\\.$`));
    // Not remembered: the next call tries again (and fails again).
    await rejectsUnauthorized(wrong.experiments.list(), /^Login as alice at .* failed/);
  });

  it('logs in again when its session ends (the token revoked elsewhere), once per refused call', async () => {
    const { fetch, sent } = recorder();
    const alice = new Periscope({ master, user: 'alice', password: 'alice-pw', fetch });
    const { token } = await alice.login();
    assert.equal(logins(sent), 1);
    await new Periscope({ master, token }).logout();
    assert.equal((await alice.whoami()).username, 'alice');
    assert.equal(logins(sent), 2, sent.join(', '));
    assert.deepEqual(sent.slice(-3), ['GET /api/v1/me', 'POST /api/v1/auth/login', 'GET /api/v1/me']);
  });

  it('too many failed logins are TOO_MANY_REQUESTS with the seconds to wait', async () => {
    // A server of its own: the failures count against this address for every user.
    const strict = await startServer();
    await strict.app.users.create({ username: 'carol', password: 'carol-pw' });
    const guessing = new Periscope({ master: strict.master, user: 'carol', password: 'guess' });
    let refusal: PeriscopeApiError | undefined;
    for (let attempt = 1; attempt <= 20 && !refusal; attempt++) {
      await guessing.whoami().catch((error: PeriscopeApiError) => {
        if (error.code === 'TOO_MANY_REQUESTS') refusal = error;
        else assert.equal(error.code, 'UNAUTHORIZED', error.message);
      });
    }
    assert.ok(refusal, 'refused after repeated failures');
    assert.equal(refusal.httpStatus, 429);
    assert.match(refusal.message, /^Login as carol at .* failed: Too many failed logins/);
    assert.ok(refusal.retryAfterSeconds !== undefined && refusal.retryAfterSeconds > 0, `retryAfterSeconds: ${refusal.retryAfterSeconds}`);
    // Even the right password waits now.
    await assert.rejects(new Periscope({ master: strict.master, user: 'carol', password: 'carol-pw' }).whoami(), { code: 'TOO_MANY_REQUESTS' });
  });

  it('the password and the token never show in an inspected client or an error', async () => {
    const alice = new Periscope({ master, user: 'alice', password: 'alice-pw' });
    const { token } = await alice.login();
    const byToken = new Periscope({ master, token });
    for (const client of [alice, byToken]) {
      const shown = `${inspect(client, { depth: 20, showHidden: true })} ${JSON.stringify(client)}`;
      assert.ok(!shown.includes('alice-pw'), 'no password');
      assert.ok(!shown.includes(token), 'no token');
    }
    const error = await new Periscope({ master, user: 'alice', password: 'wrong-pw' }).whoami().catch((e: unknown) => e);
    const shown = `${inspect(error, { depth: 20, showHidden: true })} ${JSON.stringify(error)}`;
    assert.match(shown, /UNAUTHORIZED/);
    assert.ok(!shown.includes('wrong-pw'), 'no password in the error');
    await byToken.logout();
    const refused = await byToken.whoami().catch((e: unknown) => e);
    assert.ok(!inspect(refused, { depth: 20, showHidden: true }).includes(token), 'no token in the error');
  });
});

describe('tokens', () => {
  it('a token passed as is wins over the credentials file', async () => {
    const { token } = await server.app.users.issueToken('bob');
    assert.equal((await new Periscope({ master, token }).whoami()).username, 'bob');
    // The harness filed admin's token: without the option, the client is admin.
    assert.equal((await new Periscope({ master }).whoami()).username, 'admin');
  });

  it('a bad token is UNAUTHORIZED in the server’s words', async () => {
    await rejectsUnauthorized(new Periscope({ master, token: 'pst_nope.nope' }).whoami(), new RegExp(`^${master.replaceAll('.', '\\.')} refused the token \\(Invalid token\\)$`));
  });

  it('the credentials file: the master’s current user by default, another by `user` or PERISCOPE_USER, localhost as 127.0.0.1', async () => {
    const alice = await server.app.users.issueToken('alice');
    const bob = await server.app.users.issueToken('bob');
    const path = join(tempDir(), 'credentials');
    writeFileSync(path, serializeCredentials(withToken(withToken(EMPTY_CREDENTIALS, master, 'bob', bob.token), master, 'alice', alice.token)));
    await withEnvironment({ PERISCOPE_CREDENTIALS: path }, async () => {
      assert.equal((await new Periscope({ master }).whoami()).username, 'alice');
      assert.equal((await new Periscope({ master, user: 'bob' }).whoami()).username, 'bob');
      assert.equal((await new Periscope({ master: master.replace('127.0.0.1', 'localhost') }).whoami()).username, 'alice');
      await withEnvironment({ PERISCOPE_USER: 'bob' }, async () => {
        assert.equal((await new Periscope({ master }).whoami()).username, 'bob');
      });
      // A user with no token filed there is not logged in.
      await rejectsUnauthorized(new Periscope({ master, user: 'carol' }).whoami(), /^Not logged in to .* as carol: run `periscope user login carol`, or pass user and password$/);
    });
  });

  it('no token anywhere is UNAUTHORIZED saying how to log in', async () => {
    await withEnvironment({ PERISCOPE_CREDENTIALS: join(tempDir(), 'no-such-file') }, async () => {
      await rejectsUnauthorized(new Periscope({ master }).experiments.list(), new RegExp(`^Not logged in to ${master.replaceAll('.', '\\.')}: run \`periscope user login\`, or pass user and password$`));
    });
  });

  it('a saved token that is refused is read again from the file (a login since), else explained', async () => {
    const first = await server.app.users.issueToken('alice');
    const path = join(tempDir(), 'credentials');
    writeFileSync(path, serializeCredentials(withToken(EMPTY_CREDENTIALS, master, 'alice', first.token)));
    await withEnvironment({ PERISCOPE_CREDENTIALS: path }, async () => {
      const client = new Periscope({ master });
      assert.equal((await client.whoami()).username, 'alice');
      await new Periscope({ master, token: first.token }).logout();
      await rejectsUnauthorized(client.whoami(), /^The saved login of alice at .* was refused \(Invalid token\): run `periscope user login alice` again/);
      // `periscope user login` saved a new token meanwhile: the same client picks it up.
      const second = await server.app.users.issueToken('alice');
      writeFileSync(path, serializeCredentials(withToken(EMPTY_CREDENTIALS, master, 'alice', second.token)));
      assert.equal((await client.whoami()).username, 'alice');
    });
  });

  it('logout revokes the token on the server, and the client sends none after', async () => {
    const alice = new Periscope({ master, user: 'alice', password: 'alice-pw' });
    const { token } = await alice.login();
    const sameToken = new Periscope({ master, token });
    assert.equal((await sameToken.whoami()).username, 'alice');
    await alice.logout();
    await rejectsUnauthorized(alice.whoami(), /^This client logged out of /);
    await rejectsUnauthorized(sameToken.whoami(), /refused the token \(Invalid token\)$/);
  });

  it('an executor’s PERISCOPE_TOKEN goes with its reports, and a bad one is refused', async () => {
    // The token is checked before the trial is looked up: any trial id will do.
    const env = { PERISCOPE_API: master, PERISCOPE_TRIAL_ID: '1', PERISCOPE_TOKEN: 'pst_forged.token' };
    await assert.rejects(init(env).reportTrainingMetrics(1, { loss: 1 }), { name: 'PeriscopeTrainingError', message: /Invalid token/ });
    await assert.rejects(init({ ...env, PERISCOPE_TOKEN: '' }).reportTrainingMetrics(1, { loss: 1 }), { name: 'PeriscopeTrainingError', message: /Authentication required/ });
  });
});

describe('two masters at once', () => {
  it('each client keeps its own master, user and token', async () => {
    const other = await startServer();
    await other.app.users.create({ username: 'dave', password: 'dave-pw' });
    const onFirst = new Periscope({ master, user: 'alice', password: 'alice-pw' });
    const onOther = new Periscope({ master: other.master, user: 'dave', password: 'dave-pw' });
    const [first, second] = await Promise.all([onFirst.whoami(), onOther.whoami()]);
    assert.deepEqual([first.username, second.username], ['alice', 'dave']);
    const made = await onOther.experiments.create(parkedSpec('on-the-other'));
    assert.deepEqual((await onOther.experiments.list()).experiments.map((e) => e.experimentId), [made.experimentId]);
    await assert.rejects(onFirst.experiments.get(made.experimentId), { code: 'NOT_FOUND' });
    // Each saved admin token is filed under its own master.
    assert.notEqual(credentialsKey(master), credentialsKey(other.master));
    const admins = await Promise.all([new Periscope({ master }).whoami(), new Periscope({ master: other.master }).whoami()]);
    assert.deepEqual(admins.map((u) => u.username), ['admin', 'admin']);
  });
});

describe('login()', () => {
  it('checks the login at once, and only a good one replaces the default client', async () => {
    const good = await login({ master, user: 'alice', password: 'alice-pw' });
    assert.equal((await good.whoami()).username, 'alice');
    await rejectsUnauthorized(login({ master, user: 'bob', password: 'wrong' }), /^Login as bob at .* failed/);
    // The module-level functions still use alice's client: the admin's experiment is not hers to see.
    const admins = await new Periscope({ master }).experiments.create(parkedSpec('admins'));
    await assert.rejects(getExperiment(admins.experimentId), { code: 'NOT_FOUND' });
    await login({ master });
    assert.equal((await getExperiment(admins.experimentId)).id, admins.experimentId);
  });
});

describe('options', () => {
  it('refuse contradictions, naming the field', () => {
    assert.throws(() => new Periscope({ master, token: 't', password: 'p', user: 'u' }), { name: 'TypeError', message: /^token: pass a token or a password, not both$/ });
    assert.throws(() => new Periscope({ master, password: 'p' }), { name: 'TypeError', message: /^password: name the user to log in as/ });
    assert.throws(() => new Periscope({ master, user: ' ' }), { name: 'TypeError', message: /^user: " " must be a non-empty string$/ });
    assert.throws(() => new Periscope({ master, certPath: 'ca.pem' }), { name: 'TypeError', message: /^certPath: applies to an https:\/\/ master only/ });
  });
});

describe('a server with --auth none', () => {
  it('needs no token: every caller is admin', async () => {
    const open = await startServer({ auth: 'none' });
    await withEnvironment({ PERISCOPE_CREDENTIALS: join(tempDir(), 'no-such-file') }, async () => {
      const anyone = new Periscope({ master: open.master });
      const me = await anyone.whoami();
      assert.equal(me.admin, true);
      assert.deepEqual((await anyone.users.list()).map((u) => u.username), ['admin']);
    });
  });
});
