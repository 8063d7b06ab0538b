/**
 * `periscope user …` as an admin runs it (create, list, deactivate, activate, set-password) and as a non-admin
 * is refused it: the real binary against a real server that checks tokens. (Apart from user-commands.test.ts,
 * so each file has the whole per-file time budget: every CLI call costs a TypeScript compile until the CLI ships
 * bundled.)
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Periscope } from '@periscope/sdk';
import { oneLine, periscope, startServer, tempDir, succeeds } from './testing/cli.js';

const server = await startServer();
const { master } = server;
const admin = new Periscope({ master });
await admin.users.create({ username: 'alice', password: 'alice-pw' });
await admin.users.create({ username: 'bob', password: 'bob-pw' });

const ok = (args: string[], options: Parameters<typeof periscope>[1] = {}) => succeeds(args, { master, ...options });

/** A credentials file of a test's own, in a directory that does not exist yet. */
function ownCredentials(): string {
  return join(tempDir(), 'home', '.periscope', 'credentials');
}

describe('periscope user (admin)', () => {
  it('creates, lists, deactivates, activates and re-passwords users', async () => {
    assert.equal((await ok(['user', 'create', 'dana', '--password-stdin'], { input: 'dana-pw\n' })).stdout, 'Created user dana.\n');
    assert.equal((await ok(['user', 'create', 'eve', '--admin', '--password-stdin'], { input: 'eve-pw\n' })).stdout, 'Created admin eve.\n');
    oneLine(await periscope(['user', 'create', 'dana', '--password-stdin'], { master, input: 'x\n' }), 1, /^periscope: User "dana" already exists\. \(CONFLICT\)$/);

    const table = (await ok(['user', 'list'])).stdout.trimEnd().split('\n');
    assert.match(table[0]!, /^USERNAME\s+ADMIN\s+ACTIVE\s+CREATED$/);
    assert.match(table.find((l) => l.startsWith('dana'))!, /^dana\s+no\s+yes\s+(just now|\d+s ago)$/);
    assert.match(table.find((l) => l.startsWith('eve'))!, /^eve\s+yes\s+yes\s/);
    const listed = JSON.parse((await ok(['--json', 'user', 'list'])).stdout) as Array<{ username: string; admin: boolean }>;
    assert.deepEqual(listed.map((u) => u.username).sort(), ['admin', 'alice', 'bob', 'dana', 'eve']);

    const credentials = ownCredentials();
    const env = { PERISCOPE_CREDENTIALS: credentials };
    await ok(['user', 'login', 'dana', '--password-stdin'], { env, input: 'dana-pw\n' });
    assert.match((await ok(['user', 'deactivate', 'dana'])).stdout, /^Deactivated dana: they can no longer log in, and their tokens are revoked\.$/m);
    oneLine(await periscope(['user', 'whoami'], { master, env }), 1, /^periscope: The saved login of dana at .* was refused \(Invalid token\): run `periscope user login dana` again \(UNAUTHORIZED\)$/);
    oneLine(await periscope(['user', 'login', 'dana', '--password-stdin'], { master, env, input: 'dana-pw\n' }), 1, /failed: Invalid username or password\. \(UNAUTHORIZED\)$/);
    assert.equal((await ok(['user', 'activate', 'dana'])).stdout, 'Activated dana.\n');

    assert.equal((await ok(['user', 'set-password', 'dana', '--password-stdin'], { input: 'dana-new\n' })).stdout, 'Set the password of dana; their sessions have ended.\n');
    oneLine(await periscope(['user', 'login', 'dana', '--password-stdin'], { master, env, input: 'dana-pw\n' }), 1, /failed: Invalid username or password/);
    assert.equal((await ok(['user', 'login', 'dana', '--password-stdin'], { env, input: 'dana-new\n' })).stdout, `Logged in as dana at ${master}.\n`);
    oneLine(await periscope(['user', 'deactivate', 'nobody'], { master }), 1, /nobody.*\(NOT_FOUND\)$/);
  });

  it('a non-admin is refused every user operation with a forbidden message, exit 1', async () => {
    const env = { PERISCOPE_CREDENTIALS: ownCredentials() };
    await ok(['user', 'login', 'bob', '--password-stdin'], { env, input: 'bob-pw\n' });
    oneLine(await periscope(['user', 'create', 'mallory', '--admin', '--password-stdin'], { master, env, input: 'x\n' }), 1, /^periscope: Only an admin may do this\. \(FORBIDDEN\)$/);
    oneLine(await periscope(['user', 'list'], { master, env }), 1, /^periscope: Only an admin may do this\. \(FORBIDDEN\)$/);
    oneLine(await periscope(['user', 'deactivate', 'alice'], { master, env }), 1, /\(FORBIDDEN\)$/);
    oneLine(await periscope(['user', 'set-password', 'alice', '--password-stdin'], { master, env, input: 'x\n' }), 1, /\(FORBIDDEN\)$/);
    assert.ok(!(await admin.users.list()).some((u) => u.username === 'mallory'));
  });
});
