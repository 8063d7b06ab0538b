/**
 * A clone that hangs on a silent server is killed the moment its signal aborts (not at the git timeout), and
 * a clone left running into a work dir by a server killed with -9 is killed, and its files removed, before the
 * next sync of that dir.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, describe, it } from 'node:test';
import { eventually, tempDir } from '../testing/databases.js';
import { CodeSync } from './code-sync.js';
import { CodeSyncError } from './errors.js';
import { gitClone } from './git-sync.js';

/** Accepts connections and never answers: a clone against it hangs until it is killed. */
async function silentServer(): Promise<{ url: string; requests(): number }> {
  let requests = 0;
  const server = createServer(() => {
    requests++;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/team/project.git`, requests: () => requests };
}

/** Live (not zombie) processes whose last argument is `dir`. */
function processesInto(dir: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
      const state = readFileSync(`/proc/${name}/stat`, 'utf8').split(') ')[1]?.[0];
      if (state !== 'Z' && argv.at(-1) === dir) pids.push(Number(name));
    } catch {
      // Gone while looking.
    }
  }
  return pids;
}

describe('canceling a clone', () => {
  it('an aborted signal kills a hanging clone at once (while the git timeout is far off) and leaves no work dir', async () => {
    const server = await silentServer();
    const workDir = join(tempDir(), 'work');
    const controller = new AbortController();
    // A 10-minute timeout: only the abort can end this clone within the test.
    const clone = gitClone({ url: server.url, timeoutMs: 600_000, signal: controller.signal }, workDir);
    let settled = false;
    clone.then(
      () => (settled = true),
      () => (settled = true),
    );
    await eventually('git to reach the server', () => server.requests() > 0 && processesInto(workDir).length > 0);
    assert.equal(settled, false);
    controller.abort();
    await assert.rejects(clone, (error: unknown) => {
      assert.ok(error instanceof CodeSyncError);
      assert.match(error.message, /^git clone of http:\/\/127\.0\.0\.1:\d+\/team\/project\.git was canceled\.$/);
      return true;
    });
    // git is gone when the clone answers, not later.
    assert.deepEqual(processesInto(workDir), []);
    assert.equal(existsSync(workDir), false);
  });

  it('a signal aborted before the clone starts runs no git at all', async () => {
    const server = await silentServer();
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(gitClone({ url: server.url, signal: controller.signal }, join(tempDir(), 'work')), /was canceled/);
    assert.equal(server.requests(), 0);
  });

  it('a clone left running into the work dir (its server killed with -9) is killed and cleared before the next sync', async () => {
    const repo = join(tempDir(), 'repo');
    mkdirSync(repo);
    const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', '-c', 'commit.gpgsign=false', ...args], { cwd: repo });
    git('init', '--quiet', '--initial-branch=main');
    writeFileSync(join(repo, 'train.py'), 'print("main")\n');
    git('add', '.');
    git('commit', '--quiet', '-m', 'main');

    // The orphan: a detached clone from a silent server into the work dir, as a dead server would leave it.
    const server = await silentServer();
    const workDir = join(tempDir(), 'work');
    const orphan = spawn('git', ['clone', '--depth', '1', '--', server.url, workDir], { detached: true, stdio: 'ignore', env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
    after(() => {
      try {
        process.kill(-orphan.pid!, 'SIGKILL');
      } catch {
        // Already gone.
      }
    });
    await eventually('the orphan to start writing into the work dir', () => server.requests() > 0 && existsSync(join(workDir, '.git')));

    await new CodeSync(tempDir()).materialize({ syncMode: 'git', url: pathToFileURL(repo).href }, workDir);
    assert.equal(readFileSync(join(workDir, 'train.py'), 'utf8'), 'print("main")\n');
    assert.deepEqual(processesInto(workDir), [], 'the orphan clone still runs');
  });
});
