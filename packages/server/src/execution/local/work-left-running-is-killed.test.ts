/**
 * Issue 22 §3: whatever an executor's command leaves running (background children, setsid daemons, double
 * forks) is killed when the command ends, on success and on cancel, and the count is reported. Each case's
 * processes carry a unique argument (`sleep 300.<n>`) and are looked for in /proc.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { call, create, testApp, waitForStatus } from '../../testing/app.js';
import { eventually, tempDir } from '../../testing/databases.js';
import type { ExecutorExit } from '../launcher.js';
import { cgroupSupport, createCgroup, executorTag, joinCgroup, killCgroup, removeEmptyCgroups } from './cgroups.js';
import { LocalLauncher } from './local-launcher.js';
import { shellCommand } from './wrapper.js';
import { exitOf, gangOf, localHandle } from '../../testing/launcher.js';

const linux = process.platform === 'linux';
const cgroups = linux ? cgroupSupport() : { unavailable: 'not Linux' };
const noCgroups = 'unavailable' in cgroups ? `cgroups unavailable here: ${cgroups.unavailable}` : false;

let counter = 0;
/** A sleep no other test runs: `sleep 300.<pid><n>`, so /proc can tell this case's processes from anyone's. */
function uniqueSleep(): string {
  counter += 1;
  return `300.${process.pid}${counter}`;
}

/** Live (non-zombie) processes whose command line holds `marker`. */
function alive(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (!cmdline.some((arg) => arg.includes(marker))) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z') found.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return found;
}

/** Kills what a failing case left, so a red test does not leave sleeps behind. */
function cleanUp(marker: string): void {
  after(() => {
    for (const pid of alive(marker)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  });
}

const node = { name: 'test', architecture: 'x64', cpus: 2, memoryMb: 1024, gpus: [], labels: {} };


/** Commands that succeed and leave a `sleep <marker>` running, each escaping the process group another way. */
const escapes: Record<string, (s: string) => string> = {
  'a background child': (s) => `sleep ${s} & echo started`,
  'a setsid daemon': (s) => `setsid sh -c 'sleep ${s}' & echo started`,
  'a double fork': (s) => `( ( sleep ${s} & ) & ); echo started`,
};

const custom = (cmd: string) => ({ meta: { name: 'job', framework: 'Custom', cmd }, spec: { Worker: {} } });

describe('work left running by an experiment', { skip: !linux && 'needs /proc' }, () => {
  for (const [how, cmd] of Object.entries(escapes)) {
    it(`is killed when the command succeeds: ${how}`, async () => {
      const app = await testApp(join(tempDir(), 'db.sqlite'));
      const marker = uniqueSleep();
      cleanUp(marker);
      const id = await create(app, custom(cmd(marker)));
      assert.equal((await waitForStatus(app, id, ['Succeeded', 'Failed'])).status, 'Succeeded');
      // The launcher kills what is left before it reports the end, so nothing may be alive by now.
      assert.deepEqual(alive(marker), [], `no sleep ${marker} is alive after the experiment ended`);
      // And the executor says so in words.
      const [executor] = (await call(app, 'GET', `/api/v1/experiment/${id}/trials`)).body.result[0].executors;
      assert.match(executor.cause ?? '', /^killed \d+ process(es)? it left running$/, JSON.stringify(executor));
    });
  }

  for (const [how, cmd] of Object.entries({
    'a shell waiting on a background child': (s: string) => `sh -c 'sleep ${s} & wait'`,
    'a setsid daemon': (s: string) => `setsid sh -c 'sleep ${s}' & wait`,
  })) {
    it(`is killed by a cancel: ${how}`, async () => {
      const app = await testApp(join(tempDir(), 'db.sqlite'), { graceMs: 200 });
      const marker = uniqueSleep();
      cleanUp(marker);
      const id = await create(app, custom(cmd(marker)));
      await waitForStatus(app, id, ['Running']);
      await eventually(`sleep ${marker} to run`, () => alive(marker).length > 0);
      const canceled = await call(app, 'POST', `/api/v1/experiment/${id}/cancel`);
      assert.equal(canceled.status, 200);
      assert.deepEqual(alive(marker), [], `no sleep ${marker} is alive after the cancel answered`);
    });
  }
});

for (const mode of ['cgroup', 'tracking'] as const) {
  const skip = !linux ? 'needs /proc' : mode === 'cgroup' && noCgroups;
  describe(`LocalLauncher kills what an executor leaves running (${mode})`, { skip }, () => {
    const launcher = () => new LocalLauncher(node, { cgroups: mode === 'cgroup' });

    for (const [how, cmd] of Object.entries(escapes)) {
      it(`after a success: ${how}, and reports how many it killed`, async () => {
        const l = launcher();
        const dir = tempDir();
        const marker = uniqueSleep();
        cleanUp(marker);
        const ended = exitOf(l, 'e');
        await l.submit(gangOf([{ name: 'e', argv: shellCommand(cmd(marker)), cwd: dir, env: {}, logDir: join(dir, 'logs') }]));
        const exit = await ended;
        assert.equal(exit.cause, 'exited');
        assert.equal(exit.exitCode, 0);
        assert.deepEqual(alive(marker), []);
        assert.ok((exit.leftovers ?? 0) >= 1, `the end reports what was left (${JSON.stringify(exit)})`);
        await l.close();
      });
    }

    it('after a failure, and the exit code is still the command\'s', async () => {
      const l = launcher();
      const dir = tempDir();
      const marker = uniqueSleep();
      cleanUp(marker);
      const ended = exitOf(l, 'f');
      await l.submit(gangOf([{ name: 'f', argv: shellCommand(`setsid sleep ${marker} & exit 3`), cwd: dir, env: {}, logDir: join(dir, 'logs') }]));
      const exit = await ended;
      assert.deepEqual({ ...exit, leftovers: undefined }, { name: 'f', exitCode: 3, signal: null, cause: 'exited', fault: 'user', leftovers: undefined });
      assert.ok((exit.leftovers ?? 0) >= 1);
      assert.deepEqual(alive(marker), []);
      await l.close();
    });

    it('on cancel, a setsid daemon as well as the process group', async () => {
      const l = launcher();
      const dir = tempDir();
      const marker = uniqueSleep();
      cleanUp(marker);
      const ended = exitOf(l, 'c');
      await l.submit(gangOf([{ name: 'c', argv: shellCommand(`setsid sh -c 'touch ready; exec sleep ${marker}' & sleep ${marker}`), cwd: dir, env: {}, logDir: join(dir, 'logs') }]));
      await eventually('the daemon to have left the session', () => existsSync(join(dir, 'ready')));
      await l.cancel(['c'], 100);
      assert.deepEqual(alive(marker), []);
      const exit = await ended;
      assert.equal(exit.cause, 'canceled');
      assert.equal(exit.leftovers, 1, 'the daemon outside the process group is reported');
      await l.close();
    });

    it('after a restart: a survivor that ends later, and one that ended while nobody watched', async () => {
      const first = launcher();
      const dir = tempDir();
      const gate = join(dir, 'gate');
      spawnSync('mkfifo', [gate]);
      spawnSync('mkfifo', [`${gate}2`]);
      const [later, gone] = [uniqueSleep(), uniqueSleep()];
      cleanUp(later);
      cleanUp(gone);
      const [survivor, early] = await first.submit(gangOf([
        { name: 'later', argv: shellCommand(`setsid sleep ${later} & read line < "$GATE"`), cwd: dir, env: { GATE: gate }, logDir: join(dir, 'l') },
        { name: 'gone', argv: shellCommand(`setsid sleep ${gone} & read line < "$GATE"`), cwd: dir, env: { GATE: `${gate}2` }, logDir: join(dir, 'g') },
      ]));
      await eventually('both daemons to run', () => alive(later).length > 0 && alive(gone).length > 0);
      await first.close(); // the "crash": nobody is listening any more
      await writeFile(`${gate}2`, 'go\n'); // 'gone' ends while no server watches; its daemon stays
      await eventually('the unwatched executor to end', () => existsSync(join(dir, 'g', 'exit')));
      assert.ok(alive(gone).length > 0, 'with no server, the daemon is still there');

      const second = launcher();
      const goneEnd = exitOf(second, 'gone');
      const laterEnd = exitOf(second, 'later');
      await second.recover([
        { name: 'later', handle: localHandle(survivor!.pid!), logDir: join(dir, 'l') },
        { name: 'gone', handle: localHandle(early!.pid!), logDir: join(dir, 'g') },
      ]);
      const settled = await goneEnd;
      assert.equal(settled.exitCode, 0);
      assert.deepEqual(alive(gone), [], 'what the unwatched one left is killed on recovery');
      assert.equal(settled.leftovers, 1);
      await writeFile(gate, 'go\n');
      const ended = await laterEnd;
      assert.equal(ended.exitCode, 0);
      assert.deepEqual(alive(later), [], 'what the re-attached one left is killed when it ends');
      assert.equal(ended.leftovers, 1);
      await second.close();
    });
  });
}

describe('LocalLauncher in a cgroup', { skip: !linux ? 'needs /proc' : noCgroups }, () => {
  it('kills a daemon that scrubbed its environment, and removes the cgroup', async () => {
    const l = new LocalLauncher(node);
    const dir = tempDir();
    const marker = uniqueSleep();
    cleanUp(marker);
    const ended = exitOf(l, 'scrubbed');
    const [attached] = await l.submit(gangOf([{ name: 'scrubbed', argv: shellCommand(`setsid env -i sh -c 'touch ready; exec sleep ${marker}' & until [ -e ready ]; do :; done`), cwd: dir, env: {}, logDir: join(dir, 'logs') }]));
    const own = readFileSync(`/proc/${attached!.pid!}/cgroup`, 'utf8');
    const path = own.split('\n').find((line) => line.startsWith('0::'))!.slice(3);
    assert.match(path, /\/periscope-scrubbed-[0-9a-f]{12}$/, 'the executor runs in a cgroup named for it');
    const exit = await ended;
    assert.deepEqual(alive(marker), []);
    assert.equal(exit.leftovers, 1);
    assert.ok(!existsSync(join((cgroups as { mount: string }).mount, path)), 'the cgroup is removed');
    await l.close();
  });

  it('without cgroup.kill (kernels before 5.14), SIGKILLs each process in cgroup.procs until it is empty', async () => {
    const dir = await createCgroup(cgroups as { base: string }, executorTag('no-kill-file', tempDir()));
    const marker = uniqueSleep();
    cleanUp(marker);
    const child = spawn('/bin/sh', ['-c', `read _; for i in 1 2 3; do setsid sleep ${marker} & done; touch "$READY"; exec sleep ${marker}`], { env: { ...process.env, READY: join(tempDir(), 'ready') }, stdio: ['pipe', 'ignore', 'ignore'] });
    await once(child, 'spawn');
    await joinCgroup(dir, child.pid!);
    child.stdin!.end('go\n');
    await eventually('four sleeps to run', () => alive(marker).length === 4);
    // At least the four sleeps (a setsid still turning into its sleep may be counted too).
    assert.ok((await killCgroup(dir, false)) >= 4);
    assert.deepEqual(alive(marker), []);
    assert.ok(!existsSync(dir), 'the cgroup is removed');
  });

  it('at the first recovery removes empty executor cgroups nobody settled, and never one that holds a process', async () => {
    // A base of our own, so no other test's fresh cgroup is in reach.
    const base = join((cgroups as { base: string }).base, `periscope-test-base-${process.pid}`);
    mkdirSync(base);
    after(() => rmdirSync(base));
    const empty = await createCgroup({ base }, executorTag('ended-unwatched', tempDir()));
    const busy = await createCgroup({ base }, executorTag('running', tempDir()));
    const marker = uniqueSleep();
    cleanUp(marker);
    const child = spawn('/bin/sh', ['-c', `read _; exec sleep ${marker}`], { stdio: ['pipe', 'ignore', 'ignore'] });
    await once(child, 'spawn');
    await joinCgroup(busy, child.pid!);
    child.stdin!.end('go\n');
    assert.equal(removeEmptyCgroups(base, 0), 1);
    assert.ok(!existsSync(empty), 'the empty one is gone');
    assert.ok(existsSync(busy), 'the one with a process is kept');
    assert.equal(await killCgroup(busy), 1);
  });
});
