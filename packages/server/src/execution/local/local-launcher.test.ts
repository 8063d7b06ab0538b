import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, readFile, symlink, truncate, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { eventually, tempDir } from '../../testing/databases.js';
import type { ExecutorExit } from '../launcher.js';
import { groupAlive, LocalLauncher, readExitFile } from './local-launcher.js';
import { shellCommand, WRAPPER_ARGV0, WRAPPER_SCRIPT } from './wrapper.js';
import { exitOf, gangOf, localHandle } from '../../testing/launcher.js';

const node = { name: 'test', architecture: 'x64', cpus: 2, memoryMb: 1024, gpus: [], labels: {} };

function launcher(): LocalLauncher {
  return new LocalLauncher(node);
}

describe('the exit file', () => {
  it('counts only once its line is complete: the wrapper writes it in place, so a reader may catch it empty or half-written', async () => {
    const dir = tempDir();
    const file = join(dir, 'exit');
    assert.equal(await readExitFile(dir), null, 'absent');
    for (const partial of ['', '1', '13']) {
      await writeFile(file, partial);
      assert.equal(await readExitFile(dir), null, JSON.stringify(partial));
    }
    await writeFile(file, '137\n');
    assert.equal(await readExitFile(dir), 137);
    for (const junk of ['1374\n', '-1\n', '1\n2\n', 'x\n']) {
      await writeFile(file, junk);
      assert.equal(await readExitFile(dir), null, JSON.stringify(junk));
    }
  });
});

describe('the wrapper', () => {
  it('never starts the command when a cancel reaches it before the go-ahead, and records 143', { timeout: 20_000 }, async () => {
    const dir = tempDir();
    const ran = join(dir, 'ran');
    const wrapper = spawn('/bin/sh', ['-c', WRAPPER_SCRIPT, WRAPPER_ARGV0, join(dir, 'stdout'), join(dir, 'stderr'), join(dir, 'exit'), ...shellCommand(`touch ${ran}; sleep 300`)], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
    const exited = new Promise<number | null>((resolve) => wrapper.on('exit', (code) => resolve(code)));
    wrapper.stdin.on('error', () => {}); // the wrapper may be gone before the go-ahead is written
    // The cancel's SIGTERM to the group, while the wrapper still waits for the go-ahead (it is not yet in its cgroup).
    // Its shell is the process (argv has the wrapper's name) and asleep: the read of the go-ahead is the only wait before it.
    const waiting = async () => (await readFile(`/proc/${wrapper.pid}/cmdline`, 'utf8')).includes(WRAPPER_ARGV0) && (await readFile(`/proc/${wrapper.pid}/stat`, 'utf8')).split(') ')[1]!.startsWith('S');
    await eventually('the wrapper to wait for its go-ahead', () => waiting().catch(() => false));
    process.kill(-wrapper.pid!, 'SIGTERM');
    wrapper.stdin.end('go\n');
    try {
      assert.equal(await exited, 143);
      assert.equal(await readFile(join(dir, 'exit'), 'utf8'), '143\n');
      assert.equal(await readFile(ran, 'utf8').then(() => true, () => false), false, 'the command never ran');
    } finally {
      try {
        process.kill(-wrapper.pid!, 'SIGKILL');
      } catch {
        // gone, as it should be
      }
    }
  });
});

describe('LocalLauncher', () => {
  it('runs the command with sh -c in its work dir, writes stdout and stderr to files, records the exit code', async () => {
    const l = launcher();
    const dir = tempDir();
    const logDir = join(dir, 'logs');
    const ended = exitOf(l, 'e1');
    await l.submit(gangOf([{ name: 'e1', argv: shellCommand('echo out-$GREETING; echo err >&2; pwd; exit 3'), cwd: dir, env: { GREETING: 'hi' }, logDir }]));
    assert.deepEqual(await ended, { name: 'e1', exitCode: 3, signal: null, cause: 'exited', fault: 'user' });
    assert.equal(await readFile(join(logDir, 'stdout'), 'utf8'), `out-hi\n${dir}\n`);
    assert.equal(await readFile(join(logDir, 'stderr'), 'utf8'), 'err\n');
    assert.equal(await readFile(join(logDir, 'exit'), 'utf8'), '3\n');
  });

  it('cancels the whole process group (children included) with SIGTERM, then SIGKILL after the grace period', async () => {
    const l = launcher();
    const dir = tempDir();
    const polite = exitOf(l, 'polite');
    const stubborn = exitOf(l, 'stubborn');
    const [a, b] = await l.submit(gangOf([
      { name: 'polite', argv: shellCommand('sleep 300 & sleep 300 & wait'), cwd: dir, env: {}, logDir: join(dir, 'a') },
      { name: 'stubborn', argv: shellCommand("trap '' TERM; echo ready; sleep 300 & sleep 300"), cwd: dir, env: {}, logDir: join(dir, 'b') },
    ]));
    // Only once it ignores TERM does the stubborn one need the SIGKILL.
    await eventually('the stubborn executor to ignore TERM', () => readFile(join(dir, 'b', 'stdout'), 'utf8').then((t) => t.includes('ready'), () => false));
    assert.ok(groupAlive(a!.pid!) && groupAlive(b!.pid!));
    const started = Date.now();
    await l.cancel(['polite', 'stubborn'], 300);
    assert.ok(Date.now() - started >= 300, 'the stubborn group outlived SIGTERM until the grace period ended');
    assert.ok(!groupAlive(a!.pid!), 'no process of the first group is left');
    assert.ok(!groupAlive(b!.pid!), 'no process of the second group is left');
    assert.equal((await polite).cause, 'canceled');
    assert.equal((await stubborn).cause, 'canceled');
  });

  it('says an executor started before it says it exited, even when storing the handles outlasts the command', async () => {
    const l = launcher();
    const dir = tempDir();
    const logDir = join(dir, 'logs');
    const heard: string[] = [];
    l.on('started', (s) => heard.push(`started ${s.name}`));
    l.on('exited', (e) => heard.push(`exited ${e.name}`));
    const ended = exitOf(l, 'quick');
    // A slow database: the command has ended (its exit file written) before the record answers.
    const recorded = async () => {
      await eventually('the command to end', async () => (await readExitFile(logDir)) !== null);
    };
    await l.submit({ ...gangOf([{ name: 'quick', argv: shellCommand('exit 3'), cwd: dir, env: {}, logDir }]), recorded });
    await ended;
    assert.deepEqual(heard, ['started quick', 'exited quick']);
  });

  it('reports a command killed by a signal as signaled', async () => {
    const l = launcher();
    const dir = tempDir();
    const ended = exitOf(l, 'k');
    await l.submit(gangOf([{ name: 'k', argv: shellCommand('kill -KILL $$'), cwd: dir, env: {}, logDir: join(dir, 'k') }]));
    assert.deepEqual(await ended, { name: 'k', exitCode: 137, signal: 'SIGKILL', cause: 'signaled', fault: 'user' });
  });

  it('re-attaches to a survivor of a previous launcher and settles the ones that ended or vanished', async () => {
    const first = launcher();
    const dir = tempDir();
    const gate = join(dir, 'gate');
    spawnSync('mkfifo', [gate]);
    const done = exitOf(first, 'done');
    const [survivor, finished] = await first.submit(gangOf([
      // Blocks until the test opens the gate, so it is surely alive across the "crash".
      { name: 'survivor', argv: shellCommand('read line < "$GATE"; exit 7'), cwd: dir, env: { GATE: gate }, logDir: join(dir, 's') },
      { name: 'done', argv: shellCommand('exit 0'), cwd: dir, env: {}, logDir: join(dir, 'd') },
    ]));
    await done;
    await first.close(); // the "crash": nobody is listening any more

    const second = launcher();
    const settled: ExecutorExit[] = [];
    second.on('exited', (e) => settled.push(e));
    const survivorEnd = exitOf(second, 'survivor');
    await second.recover([
      { name: 'survivor', handle: localHandle(survivor!.pid!), logDir: join(dir, 's') },
      { name: 'done', handle: localHandle(finished!.pid!), logDir: join(dir, 'd') },
      { name: 'vanished', handle: localHandle(999999), logDir: join(dir, 'v') },
    ]);
    assert.ok(groupAlive(survivor!.pid!));
    await writeFile(gate, 'go\n');
    assert.deepEqual(await survivorEnd, { name: 'survivor', exitCode: 7, signal: null, cause: 'exited', fault: 'user' });
    assert.deepEqual(settled.find((e) => e.name === 'done'), { name: 'done', exitCode: 0, signal: null, cause: 'exited', fault: 'user' });
    assert.deepEqual(settled.find((e) => e.name === 'vanished'), { name: 'vanished', exitCode: null, signal: null, cause: 'lost', fault: 'platform' });
    await second.close();
  });

  it("runs executors with the work dir as HOME and no path to the server's credentials or home config", async () => {
    const credentials = join(homedir(), '.periscope', 'credentials');
    const saved = { PERISCOPE_CREDENTIALS: process.env.PERISCOPE_CREDENTIALS, XDG_CONFIG_HOME: process.env.XDG_CONFIG_HOME };
    process.env.PERISCOPE_CREDENTIALS = credentials;
    process.env.XDG_CONFIG_HOME = join(homedir(), '.config');
    try {
      const l = launcher();
      const dir = tempDir();
      const ended = exitOf(l, 'env');
      await l.submit(gangOf([{ name: 'env', argv: shellCommand('env'), cwd: dir, env: { PERISCOPE_TOKEN: 'task-token' }, logDir: join(dir, 'logs') }]));
      assert.equal((await ended).exitCode, 0);
      const env = new Map((await readFile(join(dir, 'logs', 'stdout'), 'utf8')).split('\n').filter(Boolean).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
      assert.equal(env.get('HOME'), dir);
      assert.notEqual(env.get('HOME'), homedir());
      assert.equal(env.get('PERISCOPE_TOKEN'), 'task-token', 'what the launch spec sets still arrives');
      const pointing = [...env].filter(([, value]) => value.includes(credentials) || value.includes(join(homedir(), '.periscope')) || value.split(':').includes(homedir()));
      assert.deepEqual(pointing, []);
      assert.ok(!env.has('PERISCOPE_CREDENTIALS') && !env.has('XDG_CONFIG_HOME'));
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  it('settles a re-attached executor whose exit file was vandalised as lost, without following, blocking on or reading it whole', async () => {
    const dir = tempDir();
    const target = join(dir, 'zero');
    await writeFile(target, '0\n');
    const cases: Record<string, (exit: string) => Promise<unknown>> = {
      directory: (exit) => mkdir(exit),
      fifo: async (exit) => spawnSync('mkfifo', [exit]),
      symlink: (exit) => symlink(target, exit),
      huge: async (exit) => {
        await writeFile(exit, '0');
        await truncate(exit, 1024 * 1024 * 1024); // sparse: costs no disk
      },
      garbage: (exit) => writeFile(exit, 'zero\n'),
    };
    const l = launcher();
    const settled: ExecutorExit[] = [];
    l.on('exited', (e) => settled.push(e));
    const executors = [];
    for (const [name, vandalise] of Object.entries(cases)) {
      await mkdir(join(dir, name));
      await vandalise(join(dir, name, 'exit'));
      executors.push({ name, handle: localHandle(999999), logDir: join(dir, name) });
    }
    await l.recover(executors);
    await l.close();
    assert.deepEqual(settled.map((e) => [e.name, e.cause, e.exitCode]).sort(), Object.keys(cases).map((name) => [name, 'lost', null]).sort());
  });

  it('goes on recovering when a listener of exited throws, and logs it against the executor', async () => {
    const errors: object[] = [];
    const l = new LocalLauncher(node, { log: { error: (details) => errors.push(details) } });
    const settled: string[] = [];
    l.on('exited', (e) => {
      settled.push(e.name);
      throw new Error(`listener broke on ${e.name}`);
    });
    const dir = tempDir();
    await l.recover([
      { name: 'first', handle: localHandle(999999), logDir: join(dir, 'a') },
      { name: 'second', handle: localHandle(999998), logDir: join(dir, 'b') },
    ]);
    await l.close();
    assert.deepEqual(settled, ['first', 'second']);
    assert.deepEqual(errors.map((e) => (e as { executor: string }).executor), ['first', 'second']);
  });

  it('refuses nothing silently: a missing work dir fails the submit', async () => {
    const l = launcher();
    await assert.rejects(l.submit(gangOf([{ name: 'x', argv: shellCommand('true'), cwd: join(tempDir(), 'missing'), env: {}, logDir: join(tempDir(), 'x') }])));
  });
});
