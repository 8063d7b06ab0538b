/**
 * `periscope user …` as people and scripts run it: the real binary against a real server that checks tokens.
 * Logins go to credentials files of their own (so the harness's admin login stays as it is); passwords come
 * on stdin, or typed at a real pseudo-terminal (`script`) to show they are not echoed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { Periscope } from '@periscope/sdk';
import { BIN, oneLine, periscope, startServer, tempDir, succeeds } from './testing/cli.js';

const server = await startServer();
const { master } = server;
const admin = new Periscope({ master });
await admin.users.create({ username: 'alice', password: 'alice-pw' });
await admin.users.create({ username: 'bob', password: 'bob-pw' });
const MASTER = master.replaceAll('.', '\\.');

const ok = (args: string[], options: Parameters<typeof periscope>[1] = {}) => succeeds(args, { master, ...options });

/** A credentials file of a test's own, in a directory that does not exist yet. */
function ownCredentials(): string {
  return join(tempDir(), 'home', '.periscope', 'credentials');
}

function saved(path: string): { masters: Record<string, { user: string; tokens: Record<string, string> }> } {
  return JSON.parse(readFileSync(path, 'utf8'));
}

describe('periscope user login, whoami and logout', () => {
  it('logs in with --password-stdin, saves the token (dir 0700, file 0600) and never prints it', async () => {
    const credentials = ownCredentials();
    const env = { PERISCOPE_CREDENTIALS: credentials };
    const login = await ok(['user', 'login', 'alice', '--password-stdin'], { env, input: 'alice-pw\nignored second line\n' });
    assert.equal(login.stdout, `Logged in as alice at ${master}.\n`);
    assert.equal(statSync(credentials).mode & 0o777, 0o600);
    assert.equal(statSync(dirname(credentials)).mode & 0o777, 0o700);
    const entry = saved(credentials).masters[master]!;
    assert.equal(entry.user, 'alice');
    const token = entry.tokens.alice!;
    assert.ok(token.length > 20, 'a token is filed');
    assert.ok(!login.stdout.includes(token) && !login.stderr.includes(token), 'the token is not printed');
    assert.equal((await new Periscope({ master, token }).whoami()).username, 'alice', 'the filed token is a live session');

    assert.equal((await ok(['user', 'whoami'], { env })).stdout, `alice at ${master}\n`);
    assert.equal(JSON.parse((await ok(['--json', 'user', 'whoami'], { env })).stdout).username, 'alice');

    const json = await ok(['--json', 'user', 'login', 'bob', '--password-stdin'], { env, input: 'bob-pw\n' });
    const answer = JSON.parse(json.stdout);
    assert.deepEqual(Object.keys(answer).sort(), ['expiresTime', 'master', 'user']);
    assert.equal(answer.user.username, 'bob');
    assert.ok(!json.stdout.includes(saved(credentials).masters[master]!.tokens.bob!), 'no token in --json either');
    // bob is current now; --user and PERISCOPE_USER pick another saved login.
    assert.equal((await ok(['user', 'whoami'], { env })).stdout, `bob at ${master}\n`);
    assert.equal((await ok(['--user', 'alice', 'user', 'whoami'], { env })).stdout, `alice at ${master}\n`);
    assert.equal((await ok(['user', 'whoami'], { env: { ...env, PERISCOPE_USER: 'alice' } })).stdout, `alice at ${master}\n`);
  });

  it('a wrong password exits 1 with one clear line, and saves nothing', async () => {
    const credentials = ownCredentials();
    const run = await periscope(['user', 'login', 'alice', '--password-stdin'], { master, env: { PERISCOPE_CREDENTIALS: credentials }, input: 'wrong\n' });
    oneLine(run, 1, new RegExp(`^periscope: Login as alice at ${MASTER} failed: Invalid username or password\\. \\(UNAUTHORIZED\\)$`));
    assert.ok(!existsSync(credentials), 'no file written');
  });

  it('logout revokes the token on the server and forgets it; a second logout has nothing to do', async () => {
    const credentials = ownCredentials();
    const env = { PERISCOPE_CREDENTIALS: credentials };
    await ok(['user', 'login', 'bob', '--password-stdin'], { env, input: 'bob-pw\n' });
    await ok(['user', 'login', 'alice', '--password-stdin'], { env, input: 'alice-pw\n' });
    const token = saved(credentials).masters[master]!.tokens.alice!;
    assert.equal((await ok(['user', 'logout'], { env })).stdout, `Logged out alice at ${master}.\n`);
    await assert.rejects(new Periscope({ master, token }).whoami(), { code: 'UNAUTHORIZED' });
    const entry = saved(credentials).masters[master]!;
    assert.deepEqual(Object.keys(entry.tokens), ['bob']);
    assert.equal(entry.user, 'bob', 'the other login becomes current');
    assert.equal((await ok(['user', 'whoami'], { env })).stdout, `bob at ${master}\n`);
    const again = await ok(['--user', 'alice', 'user', 'logout'], { env });
    assert.equal(again.stdout, '');
    assert.equal(again.stderr, `Not logged in as alice at ${master}: nothing to do.\n`);
  });

  it('a saved login revoked on the server: logout still forgets it; other commands say to log in again', async () => {
    const credentials = ownCredentials();
    const env = { PERISCOPE_CREDENTIALS: credentials };
    await ok(['user', 'login', 'alice', '--password-stdin'], { env, input: 'alice-pw\n' });
    await new Periscope({ master, token: saved(credentials).masters[master]!.tokens.alice! }).logout();
    oneLine(await periscope(['experiment', 'list'], { master, env }), 1, new RegExp(`^periscope: The saved login of alice at ${MASTER} was refused \\(Invalid token\\): run \`periscope user login alice\` again \\(UNAUTHORIZED\\)$`));
    assert.equal((await ok(['user', 'logout'], { env })).stdout, `Logged out alice at ${master}.\n`);
    assert.deepEqual(saved(credentials).masters, {});
  });

  it('without any login, a command exits 1 saying to run periscope user login', async () => {
    const env = { PERISCOPE_CREDENTIALS: ownCredentials() };
    oneLine(await periscope(['experiment', 'list'], { master, env }), 1, new RegExp(`^periscope: Not logged in to ${MASTER}: run \`periscope user login\` \\(UNAUTHORIZED\\)$`));
    oneLine(await periscope(['--user', 'carol', 'user', 'whoami'], { master, env }), 1, /^periscope: Not logged in to .* as carol: run `periscope user login carol` \(UNAUTHORIZED\)$/);
  });

  it('bad password input exits 2: empty stdin, no terminal to ask, no username', async () => {
    const env = { PERISCOPE_CREDENTIALS: ownCredentials() };
    oneLine(await periscope(['user', 'login', 'alice', '--password-stdin'], { master, env, input: '' }), 2, /^periscope: --password-stdin: stdin held no password/);
    oneLine(await periscope(['user', 'login', 'alice'], { master, env }), 2, /^periscope: no terminal to ask for the password: pipe it in with --password-stdin$/);
    oneLine(await periscope(['user', 'login', '--password-stdin'], { master, env, input: 'x\n' }), 2, /^periscope: user login: name the user/);
  });

  it('at a terminal, the password is asked and not echoed', async () => {
    const credentials = ownCredentials();
    const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
    const child = spawn('script', ['-qec', `${quote(process.execPath)} ${quote(BIN)} user login alice`, '/dev/null'], {
      env: { ...process.env, PERISCOPE_MASTER: master, PERISCOPE_CREDENTIALS: credentials, NO_COLOR: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    const prompted = new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk;
        if (output.includes('Password for alice: ')) resolve();
      });
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    await prompted;
    // Typed once the prompt is up, so the terminal is already in raw mode (no echo).
    child.stdin.write('alice-pw\r');
    assert.equal(await exited, 0, output);
    assert.match(output, new RegExp(`Logged in as alice at ${MASTER}\\.`));
    assert.ok(!output.includes('alice-pw'), `the password is not echoed: ${JSON.stringify(output)}`);
    assert.equal(saved(credentials).masters[master]!.user, 'alice');
  });

  it('user --help explains the credentials file and lists the commands', async () => {
    const run = await ok(['user', '--help']);
    for (const command of ['login', 'logout', 'whoami', 'create', 'list', 'deactivate', 'activate', 'set-password']) assert.match(run.stdout, new RegExp(`^  ${command}\\b`, 'm'));
    assert.match(run.stdout, /~\/\.periscope\/credentials \(mode 0600; PERISCOPE_CREDENTIALS/);
    assert.match((await ok(['user', 'login', '--help'])).stdout, /--password-stdin/);
  });
});
