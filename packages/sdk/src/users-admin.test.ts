/**
 * `periscope.users` against a real server: an admin creates, lists, promotes, deactivates and re-passwords
 * users; the effects are seen through those users' own clients; anyone else is FORBIDDEN.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Periscope, PeriscopeApiError } from './index.js';
import { parkedSpec, startServer } from './testing/server.js';

const server = await startServer();
const { master } = server;
const admin = new Periscope({ master });

async function rejectsWith(promise: Promise<unknown>, code: string, httpStatus: number, message: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof PeriscopeApiError, String(error));
    assert.equal(error.code, code);
    assert.equal(error.httpStatus, httpStatus);
    assert.match(error.message, message);
    return true;
  });
}

describe('periscope.users (admin)', () => {
  it('creates users (not admins unless asked), lists them, and refuses a taken name', async () => {
    const erin = await admin.users.create({ username: 'erin', password: 'erin-pw' });
    assert.deepEqual({ username: erin.username, admin: erin.admin, active: erin.active }, { username: 'erin', admin: false, active: true });
    assert.ok(!Number.isNaN(Date.parse(erin.createdTime)), erin.createdTime);
    const frank = await admin.users.create({ username: 'frank', password: 'frank-pw', admin: true });
    assert.equal(frank.admin, true);
    const listed = await admin.users.list();
    assert.deepEqual(listed.map((u) => [u.username, u.admin]).sort(), [['admin', true], ['erin', false], ['frank', true]]);
    assert.ok(!JSON.stringify(listed).includes('erin-pw'), 'no password comes back');
    await rejectsWith(admin.users.create({ username: 'erin', password: 'x' }), 'CONFLICT', 409, /"erin" already exists/);
    assert.equal((await new Periscope({ master, user: 'frank', password: 'frank-pw' }).users.list()).length, 3, 'a new admin manages users too');
  });

  it('a new password works at once and the old one no longer does', async () => {
    await admin.users.create({ username: 'gina', password: 'old-pw' });
    const before = new Periscope({ master, user: 'gina', password: 'old-pw' });
    assert.equal((await before.whoami()).username, 'gina');
    const changed = await admin.users.setPassword('gina', 'new-pw');
    assert.equal(changed.username, 'gina');
    assert.equal((await new Periscope({ master, user: 'gina', password: 'new-pw' }).whoami()).username, 'gina');
    await rejectsWith(new Periscope({ master, user: 'gina', password: 'old-pw' }).whoami(), 'UNAUTHORIZED', 401, /^Login as gina at .* failed: Invalid username or password\.$/);
  });

  it('deactivating a user revokes their tokens at once; activating lets them log in again', async () => {
    await admin.users.create({ username: 'hank', password: 'hank-pw' });
    const hank = new Periscope({ master, user: 'hank', password: 'hank-pw' });
    const { token } = await hank.login();
    const byToken = new Periscope({ master, token });
    assert.equal((await byToken.whoami()).username, 'hank');
    const deactivated = await admin.users.deactivate('hank');
    assert.equal(deactivated.active, false);
    await rejectsWith(byToken.whoami(), 'UNAUTHORIZED', 401, /refused the token/);
    await rejectsWith(new Periscope({ master, user: 'hank', password: 'hank-pw' }).whoami(), 'UNAUTHORIZED', 401, /^Login as hank at .* failed/);
    assert.equal((await admin.users.activate('hank')).active, true);
    assert.equal((await new Periscope({ master, user: 'hank', password: 'hank-pw' }).whoami()).username, 'hank');
    await rejectsWith(byToken.whoami(), 'UNAUTHORIZED', 401, /refused the token/);
  });

  it('update changes the admin flag, and an unknown user is NOT_FOUND', async () => {
    await admin.users.create({ username: 'iris', password: 'iris-pw' });
    assert.equal((await admin.users.update('iris', { admin: true })).admin, true);
    assert.equal((await new Periscope({ master, user: 'iris', password: 'iris-pw' }).whoami()).admin, true);
    assert.equal((await admin.users.update('iris', { admin: false })).admin, false);
    await rejectsWith(admin.users.update('nobody', { active: false }), 'NOT_FOUND', 404, /nobody/);
  });

  it('a non-admin is FORBIDDEN from every user operation, and sees only their own experiments', async () => {
    await admin.users.create({ username: 'jack', password: 'jack-pw' });
    const jack = new Periscope({ master, user: 'jack', password: 'jack-pw' });
    await rejectsWith(jack.users.list(), 'FORBIDDEN', 403, /admin/);
    await rejectsWith(jack.users.create({ username: 'sneaky', password: 'x', admin: true }), 'FORBIDDEN', 403, /admin/);
    await rejectsWith(jack.users.update('jack', { admin: true }), 'FORBIDDEN', 403, /admin/);
    await rejectsWith(jack.users.deactivate('admin'), 'FORBIDDEN', 403, /admin/);
    assert.equal((await jack.whoami()).admin, false);
    assert.ok(!(await admin.users.list()).some((u) => u.username === 'sneaky'));

    const admins = await admin.experiments.create(parkedSpec('admins-only'));
    await rejectsWith(jack.experiments.get(admins.experimentId), 'NOT_FOUND', 404, /./);
    const his = await jack.experiments.create(parkedSpec('jacks'));
    assert.deepEqual((await jack.experiments.list()).experiments.map((e) => e.experimentId), [his.experimentId]);
    assert.equal((await admin.experiments.get(his.experimentId)).experimentId, his.experimentId, 'an admin sees everyone’s');
  });
});
