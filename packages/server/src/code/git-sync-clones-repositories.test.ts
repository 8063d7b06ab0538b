import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { tempDir } from '../testing/databases.js';
import { CodeSync } from './code-sync.js';
import { CodeSyncError } from './errors.js';
import { gitClone, redact } from './git-sync.js';

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', '-c', 'commit.gpgsign=false', ...args], { cwd, encoding: 'utf8' });
}

/** A repository with `train.py` on main and a different one on branch `experiment`. */
function makeRepository(): string {
  const repo = join(tempDir(), 'repo');
  mkdirSync(repo);
  git(repo, 'init', '--quiet', '--initial-branch=main');
  writeFileSync(join(repo, 'train.py'), 'print("main")\n');
  mkdirSync(join(repo, 'conf'));
  writeFileSync(join(repo, 'conf', 'params.yaml'), 'lr: 0.1\n');
  git(repo, 'add', '.');
  git(repo, 'commit', '--quiet', '-m', 'main');
  git(repo, 'checkout', '--quiet', '-b', 'experiment');
  writeFileSync(join(repo, 'train.py'), 'print("experiment")\n');
  git(repo, 'commit', '--quiet', '-am', 'experiment');
  git(repo, 'checkout', '--quiet', 'main');
  return repo;
}

/** An HTTP server that answers every request with `status`, recording the requests' headers. */
async function httpServer(answer: 'challenge' | 'hang'): Promise<{ url: string; requests: IncomingHttpHeaders[] }> {
  const requests: IncomingHttpHeaders[] = [];
  const server = createServer((request, response) => {
    requests.push(request.headers);
    if (answer === 'hang') return; // never answers: only a timeout ends the clone
    if (request.headers.authorization === undefined) {
      response.writeHead(401, { 'www-authenticate': 'Basic realm="periscope-test"' }).end();
    } else {
      response.writeHead(403).end('forbidden');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/team/project.git`, requests };
}

describe('git code sync', () => {
  const repo = makeRepository();
  const repoUrl = pathToFileURL(repo).href;

  test('clones a file:// repository at its default branch, shallow', async () => {
    const workDir = join(tempDir(), 'work');
    await gitClone({ url: repoUrl }, workDir);
    assert.equal(readFileSync(join(workDir, 'train.py'), 'utf8'), 'print("main")\n');
    assert.equal(readFileSync(join(workDir, 'conf', 'params.yaml'), 'utf8'), 'lr: 0.1\n');
    assert.equal(git(workDir, 'rev-list', '--count', 'HEAD').trim(), '1');
  });

  test('checks out the branch named by git.branch (Submarine 0.8 shape through CodeSync)', async () => {
    const sync = new CodeSync(tempDir());
    const workDir = join(tempDir(), 'work');
    await sync.materialize({ syncMode: 'git', git: { url: repoUrl, branch: 'experiment' } }, workDir);
    assert.equal(readFileSync(join(workDir, 'train.py'), 'utf8'), 'print("experiment")\n');
  });

  test('clones a plain local path into an existing empty work dir (Submarine 0.7 shape)', async () => {
    const sync = new CodeSync(tempDir());
    const workDir = tempDir();
    await sync.materialize({ syncMode: 'GIT', url: repo }, workDir);
    assert.equal(readFileSync(join(workDir, 'train.py'), 'utf8'), 'print("main")\n');
  });

  test("a failing clone throws a CodeSyncError quoting git's message, and leaves no work dir", async () => {
    const workDir = join(tempDir(), 'work');
    const missing = pathToFileURL(join(tempDir(), 'no-such-repo')).href;
    await assert.rejects(gitClone({ url: missing }, workDir), (error: unknown) => {
      assert.ok(error instanceof CodeSyncError);
      assert.equal(error.httpStatus, 400);
      assert.ok(error.message.startsWith(`git clone of ${missing} failed (exit code 128): `), error.message);
      assert.match(error.message, /does not appear to be a git repository|repository .* does not exist/);
      return true;
    });
    assert.equal(existsSync(workDir), false);
  });

  test('an unknown branch fails with git naming the branch, and the existing work dir is left empty', async () => {
    const workDir = tempDir();
    await assert.rejects(gitClone({ url: repoUrl, branch: 'nope' }, workDir), (error: unknown) => {
      assert.ok(error instanceof CodeSyncError);
      assert.ok(error.message.includes(`git clone of ${repoUrl} (branch nope) failed`), error.message);
      assert.match(error.message, /Remote branch nope not found/);
      return true;
    });
    assert.deepEqual(readdirSync(workDir), []);
  });

  test('URLs and branches starting with "-" and non-empty work dirs are refused before git runs', async () => {
    const workDir = join(tempDir(), 'work');
    await assert.rejects(gitClone({ url: '--upload-pack=touch /tmp/pwned' }, workDir), /a URL may not start with "-"/);
    await assert.rejects(gitClone({ url: repoUrl, branch: '--help' }, workDir), /a branch may not start with "-"/);
    mkdirSync(workDir);
    writeFileSync(join(workDir, 'keep.txt'), 'mine');
    await assert.rejects(gitClone({ url: repoUrl }, workDir), /work dir .* is not empty/);
    assert.deepEqual(readdirSync(workDir), ['keep.txt']);
  });

  test('credentials are answered to the server that asks, and never appear in the failure message', async () => {
    const server = await httpServer('challenge');
    const password = 'pa55-w0rd-secret';
    const workDir = join(tempDir(), 'work');
    await assert.rejects(gitClone({ url: server.url, username: 'alice', password }, workDir), (error: unknown) => {
      assert.ok(error instanceof CodeSyncError);
      assert.ok(!error.message.includes(password), error.message);
      assert.ok(error.message.includes(server.url), error.message);
      return true;
    });
    const authorizations = server.requests.map((h) => h.authorization).filter((a) => a !== undefined);
    assert.ok(authorizations.length > 0, 'git retried with credentials');
    assert.equal(authorizations[0], `Basic ${Buffer.from(`alice:${password}`).toString('base64')}`);
  });

  test('without credentials a protected remote fails at once instead of prompting', async () => {
    const server = await httpServer('challenge');
    await assert.rejects(gitClone({ url: server.url }, join(tempDir(), 'work')), (error: unknown) => {
      assert.ok(error instanceof CodeSyncError);
      assert.match(error.message, /terminal prompts disabled|could not read Username/);
      return true;
    });
  });

  test('a password inside the URL is redacted from the message', async () => {
    const server = await httpServer('challenge');
    const url = server.url.replace('http://', 'http://bob:hunter2hunter2@');
    await assert.rejects(gitClone({ url }, join(tempDir(), 'work')), (error: unknown) => {
      assert.ok(error instanceof CodeSyncError);
      assert.ok(!error.message.includes('hunter2hunter2'), error.message);
      assert.ok(error.message.includes('http://bob:***@127.0.0.1'), error.message);
      return true;
    });
  });

  test('a clone that never finishes is killed at the timeout', async () => {
    const server = await httpServer('hang');
    const workDir = join(tempDir(), 'work');
    await assert.rejects(gitClone({ url: server.url, timeoutMs: 300 }, workDir), (error: unknown) => {
      assert.ok(error instanceof CodeSyncError);
      assert.match(error.message, /timed out after 300 ms/);
      return true;
    });
    assert.equal(existsSync(workDir), false);
  });

  test('redact hides URL passwords and given secrets, percent-encoded ones too', () => {
    assert.equal(redact('fatal: https://u:p%40ss@host/x'), 'fatal: https://u:***@host/x');
    assert.equal(redact('said p@ss and p%40ss', ['p@ss']), 'said *** and ***');
  });
});
