/**
 * Executors are forked by a spawner process of the launcher's own (spawner.ts), off the server's event loop.
 * That process may die (an executor that kills its grandparent, the OOM killer): what it started runs on and
 * its end is still reported, from its exit file, and the next executor gets a new spawner. The spawner carries
 * none of the server's environment.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { eventually, tempDir } from '../../testing/databases.js';
import { exitOf, gangOf } from '../../testing/launcher.js';
import { LocalLauncher } from './local-launcher.js';
import { shellCommand } from './wrapper.js';

const node = { name: 'test', architecture: 'x64', cpus: 2, memoryMb: 1024, gpus: [], labels: {} };

/** Pids of this process's children running the spawner. */
function spawners(): number[] {
  return readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).flatMap((entry) => {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const state = stat.slice(stat.lastIndexOf(')') + 2)[0];
      return ppid === process.pid && state !== 'Z' && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('spawner-process.mjs') ? [Number(entry)] : [];
    } catch {
      return [];
    }
  });
}

describe('the spawner', { skip: process.platform !== 'linux' && 'reads /proc' }, () => {
  it('dies without losing the executors it started, is replaced, and holds none of the server’s environment', async () => {
    process.env.PERISCOPE_DB = 'postgres://user:secret-password@db.example/periscope';
    const launcher = new LocalLauncher(node);
    try {
      const dir = tempDir();
      const gate = join(dir, 'gate');
      const ended = exitOf(launcher, 'survivor');
      await launcher.submit(gangOf([{ name: 'survivor', argv: shellCommand(`while [ ! -e ${gate} ]; do sleep 0.02; done; exit 4`), cwd: dir, env: {}, logDir: join(dir, 'survivor') }]));
      const [spawner] = spawners();
      assert.ok(spawner, 'a spawner runs');
      assert.doesNotMatch(readFileSync(`/proc/${spawner}/environ`, 'latin1'), /PERISCOPE_|secret-password/, 'the spawner has no server environment');

      process.kill(spawner, 'SIGKILL');
      await eventually('the spawner to be gone', () => !spawners().includes(spawner));
      writeFileSync(gate, '');
      assert.deepEqual(await ended, { name: 'survivor', exitCode: 4, signal: null, cause: 'exited', fault: 'user' }, 'its end is read from its exit file');

      const next = exitOf(launcher, 'next');
      await launcher.submit(gangOf([{ name: 'next', argv: shellCommand('exit 0'), cwd: dir, env: {}, logDir: join(dir, 'next') }]));
      assert.equal((await next).exitCode, 0);
      assert.equal(spawners().length, 1, 'one new spawner');
    } finally {
      delete process.env.PERISCOPE_DB;
      await launcher.close();
    }
    await eventually('the spawner to end with its launcher', () => spawners().length === 0);
  });
});
