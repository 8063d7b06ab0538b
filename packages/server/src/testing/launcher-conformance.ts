/**
 * The behaviour every launcher must have, as one suite run against each (local now; Slurm runs the same):
 * gang submit with per-executor logs, exit codes, causes and faults; all or none; started events; cancel of a
 * gang and of single executors leaving no process behind; re-attaching by handle after the server's launcher
 * is gone. Engine-level behaviour (queueing, pending reasons, the distributed environment, restarts, recovery
 * of a whole server) is in execution/engine-conformance.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { ExecutorExit, ExecutorStarted, Launcher } from '../execution/launcher.js';
import { shellCommand } from '../execution/local/wrapper.js';
import { eventually, tempDir } from './databases.js';
import { gangOf, type BareSpec } from './launcher.js';

export interface ConformanceTarget {
  /** A fresh launcher; the suite closes it. Two made in a row share the engine (recovery across them). */
  make(): Launcher;
  /** Whether any process whose command line contains `marker` still runs wherever the engine runs them. */
  running(marker: string): Promise<boolean>;
  /**
   * Whether the engine enforces a time limit within seconds. Slurm counts limits in whole minutes and checks
   * them every half minute: its timeout is tested on its own (slurm-job-states.test.ts).
   */
  fastTimeLimits: boolean;
}

/** Collects a launcher's events, and waits for the ends of the executors named. */
function watch(launcher: Launcher) {
  const exits = new Map<string, ExecutorExit>();
  const started: ExecutorStarted[] = [];
  launcher.on('exited', (e) => exits.set(e.name, e));
  launcher.on('started', (e) => started.push(e));
  return {
    exits,
    started,
    ended: (...names: string[]) => eventually(`${names.join(', ')} to end`, () => (names.every((n) => exits.has(n)) ? names.map((n) => exits.get(n)!) : undefined), 30_000),
  };
}

let markers = 0;
/** A sleep whose command line is unique to this test, to find its process by. */
function sleeper(): { marker: string; cmd: string } {
  const marker = `${9000 + (process.pid % 1000)}.${++markers}${Date.now() % 100_000}`;
  return { marker, cmd: `sleep ${marker}` };
}

export function launcherConformance(name: string, target: ConformanceTarget): void {
  describe(`launcher conformance: ${name}`, () => {
    const spec = (dir: string, executor: string, cmd: string, env: Record<string, string> = {}): BareSpec => ({ name: executor, argv: shellCommand(cmd), cwd: dir, env, logDir: join(dir, executor) });

    it('runs a gang: each executor its own stdout and stderr, its exit code, cause and fault; started events', async () => {
      const launcher = target.make();
      const events = watch(launcher);
      const dir = tempDir();
      try {
        const handles = await launcher.submit(gangOf([spec(dir, 'a', 'echo "a out $ROLE_NAME"; echo a err >&2; exit 0', { ROLE_NAME: 'first' }), spec(dir, 'b', 'echo b out; exit 4')]));
        assert.deepEqual(handles.map((h) => h.name), ['a', 'b']);
        assert.ok(handles.every((h) => typeof h.handle === 'string' && h.handle.length > 0), 'every executor has a handle');
        const [a, b] = await events.ended('a', 'b');
        assert.deepEqual([a!.exitCode, a!.cause, a!.fault], [0, 'exited', 'user']);
        assert.deepEqual([b!.exitCode, b!.cause, b!.fault], [4, 'exited', 'user']);
        assert.equal(await readFile(join(dir, 'a', 'stdout'), 'utf8'), 'a out first\n');
        assert.equal(await readFile(join(dir, 'a', 'stderr'), 'utf8'), 'a err\n');
        assert.equal(await readFile(join(dir, 'b', 'stdout'), 'utf8'), 'b out\n');
        assert.deepEqual(events.started.map((s) => s.name).sort(), ['a', 'b']);
        assert.ok(events.started.every((s) => s.node !== '' && s.host !== '' && Array.isArray(s.gpus)));
      } finally {
        await launcher.close();
      }
    });

    it('a command killed by a signal is signaled, the user’s fault', async () => {
      const launcher = target.make();
      const events = watch(launcher);
      const dir = tempDir();
      try {
        await launcher.submit(gangOf([spec(dir, 'k', 'kill -KILL $$')]));
        const [k] = await events.ended('k');
        assert.deepEqual([k!.cause, k!.signal, k!.fault], ['signaled', 'SIGKILL', 'user']);
      } finally {
        await launcher.close();
      }
    });

    it('all or none: when one executor cannot start, the submit fails and the others are stopped', async () => {
      const launcher = target.make();
      const events = watch(launcher);
      const dir = tempDir();
      const { marker, cmd } = sleeper();
      try {
        await assert.rejects(launcher.submit(gangOf([spec(dir, 'ok', cmd), { ...spec(dir, 'broken', 'true'), cwd: join(dir, 'no-such-dir') }])));
        // A launcher that starts executors one by one has started `ok` and must have stopped it; one that checks
        // the gang before queueing it (a cluster engine) never started it.
        const ok = events.exits.get('ok');
        assert.ok(ok === undefined || ok.cause === 'canceled', `ok was stopped or never started (${ok?.cause})`);
        assert.equal(await target.running(marker), false, 'nothing of the gang is left running');
      } finally {
        await launcher.close();
      }
    });

    it('cancel stops the gang, children included, and leaves no process; a single executor can be canceled alone', async () => {
      const launcher = target.make();
      const events = watch(launcher);
      const dir = tempDir();
      const one = sleeper();
      const two = sleeper();
      const gate = join(dir, 'gate');
      try {
        // `one` has a background child as well; `two` runs until its gate opens.
        await launcher.submit(gangOf([spec(dir, 'one', `${one.cmd} & ${one.cmd}`), spec(dir, 'two', `until [ -e "${gate}" ]; do sleep 0.02; done; echo two done`)]));
        await eventually('both to run', () => target.running(one.marker));
        await launcher.cancel(['one'], 2_000);
        assert.equal(events.exits.get('one')?.cause, 'canceled', 'the cancel is reported before it returns');
        assert.equal(events.exits.get('one')?.fault, 'cancel');
        assert.equal(await target.running(one.marker), false, 'no process of the canceled executor is left');
        assert.equal(events.exits.has('two'), false, 'the other executor runs on');
        await writeFile(gate, '');
        const [twoEnd] = await events.ended('two');
        assert.deepEqual([twoEnd!.exitCode, twoEnd!.cause], [0, 'exited']);
        assert.equal(await readFile(join(dir, 'two', 'stdout'), 'utf8'), 'two done\n');
        assert.equal(await target.running(two.marker), false);
      } finally {
        await launcher.close();
      }
    });

    it('re-attaches by handle: a survivor is watched to its end, one that ended meanwhile is settled from its exit file', async () => {
      const first = target.make();
      const dir = tempDir();
      const gate = join(dir, 'gate');
      const firstEvents = watch(first);
      const handles = await first.submit(gangOf([spec(dir, 'survivor', `until [ -e "${gate}" ]; do sleep 0.02; done; exit 7`), spec(dir, 'early', 'exit 5')]));
      await firstEvents.ended('early');
      // The server goes: its launcher stops watching; the executors keep running.
      await first.close();
      const second = target.make();
      const events = watch(second);
      try {
        await second.recover(handles.map((h) => ({ name: h.name, handle: h.handle, logDir: join(dir, h.name) })));
        const [early] = await events.ended('early');
        assert.deepEqual([early!.exitCode, early!.cause], [5, 'exited']);
        assert.equal(events.exits.has('survivor'), false, 'the survivor still runs');
        await mkdir(dir, { recursive: true });
        await writeFile(gate, '');
        const [survivor] = await events.ended('survivor');
        assert.deepEqual([survivor!.exitCode, survivor!.cause, survivor!.fault], [7, 'exited', 'user']);
      } finally {
        await second.close();
      }
    });

    it('a gang past its time limit is stopped, its executors ending with timeout, the user’s fault', { skip: !target.fastTimeLimits && 'the engine counts time limits in minutes' }, async () => {
      const launcher = target.make();
      const events = watch(launcher);
      const dir = tempDir();
      const { marker, cmd } = sleeper();
      try {
        await launcher.submit({ ...gangOf([spec(dir, 'slow', cmd), spec(dir, 'quick', 'exit 0')]), timeLimitS: 0.5 });
        const [quick, slow] = await events.ended('quick', 'slow');
        assert.deepEqual([quick!.cause, quick!.exitCode], ['exited', 0], 'what ended before the limit keeps its own end');
        assert.deepEqual([slow!.cause, slow!.fault], ['timeout', 'user']);
        assert.equal(await target.running(marker), false);
      } finally {
        await launcher.close();
      }
    });

    it('an executor whose handle leads nowhere and that left no exit code is lost, the platform’s fault', async () => {
      const launcher = target.make();
      const events = watch(launcher);
      const dir = tempDir();
      try {
        await mkdir(join(dir, 'ghost'), { recursive: true });
        await launcher.recover([{ name: 'ghost', handle: null, logDir: join(dir, 'ghost') }]);
        const [ghost] = await events.ended('ghost');
        assert.deepEqual([ghost!.cause, ghost!.fault, ghost!.exitCode], ['lost', 'platform', null]);
      } finally {
        await launcher.close();
      }
    });
  });
}
