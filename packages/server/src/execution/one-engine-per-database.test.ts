/**
 * One engine per database (issue 14 §5): a second server on a database whose engine another live server runs
 * refuses to start, saying who holds it and what to do, and the first goes on running experiments. A server
 * killed with SIGKILL holds nothing: the next one starts and re-attaches to what it left running. On
 * PostgreSQL a lease whose session was cut is taken back, and a server that finds another holding it then
 * stops.
 */
import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import pg from 'pg';
import { DATABASES, eventually, tempDir } from '../testing/databases.js';
import { api, MAIN, start, stop, type Started } from '../testing/server-process.js';
import { EngineLease, EngineLeaseHeldError, engineLockKey } from './engine-lease.js';

const GATED = 'echo started; while [ ! -e "$GATE" ]; do sleep 0.01; done; echo done';

async function submit(base: string, name: string, cmd: string, envVars: Record<string, string> = {}): Promise<string> {
  const created = await api(base, 'POST', '/api/v1/experiment', { meta: { name, framework: 'Custom', cmd, envVars }, spec: { Worker: { resources: 'cpu=1' } } });
  assert.equal(created.status, 'OK', created.message);
  return created.result.experimentId;
}

async function statusOf(base: string, id: string): Promise<string> {
  return (await api(base, 'GET', `/api/v1/experiment/${id}`)).result.status;
}

async function logOf(base: string, id: string): Promise<string[]> {
  return (await api(base, 'GET', `/api/v1/experiment/logs/${id}`)).result.logContent[0]?.podLog ?? [];
}

/** A second `periscope server` on the same database (own data dir and port): it must exit on its own. */
function startRefused(target: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', MAIN, '--data-dir', tempDir(), '--db', target, '--port', '0', '--cpus', '2'], {
    encoding: 'utf8',
    env: { ...process.env, PERISCOPE_LOG_LEVEL: 'warn', PERISCOPE_CREDENTIALS: join(tempDir(), 'credentials') },
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function assertRefused(refused: ReturnType<typeof startRefused>, holder: Started, database: RegExp): void {
  assert.equal(refused.status, 1, `the second server exits 1 by itself: ${refused.stdout}${refused.stderr}`);
  assert.doesNotMatch(refused.stdout, /listening on/);
  const lines = refused.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line, no stack trace:\n${refused.stderr}`);
  const pattern = new RegExp(
    `^periscope: cannot start: another Periscope server \\(pid ${holder.child.pid}, host ${hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[,)].*\\) holds the engine of ${database.source}: ` +
      `.*Stop that server, or point this one at another database \\(--db\\)\\.$`,
  );
  assert.match(lines[0]!, pattern);
}

for (const database of DATABASES) {
  describe(`one engine per ${database.name} database`, { skip: database.skip }, () => {
    it('refuses a second server while the first runs experiments; after the first is killed -9 a new one starts and recovers', async () => {
      const target = await database.fresh();
      const dataDir = tempDir();
      const gates = tempDir();
      const args = ['--data-dir', dataDir, '--db', target, '--port', '0', '--cpus', '2'];
      const first = await start(args);

      const refused = startRefused(target);
      assertRefused(refused, first, database.name === 'postgres' ? /postgres postgres:\/\/\S+/ : new RegExp(`sqlite ${target.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      if (database.name === 'postgres') assert.match(refused.stderr, /connected from 127\.0\.0\.1, since \d{4}-/);

      // The first was not disturbed: it runs an experiment to the end.
      const ran = await submit(first.base, 'runs-beside-the-refusal', 'echo ran');
      await eventually('the first server to run an experiment to Succeeded', async () => (await statusOf(first.base, ran)) === 'Succeeded', 60_000);
      assert.deepEqual(await logOf(first.base, ran), ['ran']);

      // Something left running across a SIGKILL of the server: the next server re-attaches to it.
      const gate = join(gates, 'gate');
      const survivor = await submit(first.base, 'survives-the-kill', GATED, { GATE: gate });
      await eventually('the survivor to run', async () => (await statusOf(first.base, survivor)) === 'Running' && (await logOf(first.base, survivor)).length === 1, 60_000);
      await stop(first, 'SIGKILL');

      const next = await start(args);
      assert.equal(await statusOf(next.base, survivor), 'Running', 'the survivor was re-attached, not started again');
      writeFileSync(gate, 'go\n');
      await eventually('the re-attached survivor to succeed', async () => (await statusOf(next.base, survivor)) === 'Succeeded', 60_000);
      assert.deepEqual(await logOf(next.base, survivor), ['started', 'done']);
      const after = await submit(next.base, 'after-the-restart', 'echo after');
      await eventually('a new experiment to succeed on the new server', async () => (await statusOf(next.base, after)) === 'Succeeded', 60_000);

      if (database.name === 'sqlite') {
        assert.equal(JSON.parse(readFileSync(`${target}.engine.lock`, 'utf8')).pid, next.child.pid, 'the stale lock file was taken over');
        assert.equal(await stop(next), 0);
        assert.throws(() => readFileSync(`${target}.engine.lock`), /ENOENT/, 'a server that stops removes its lock file');
      } else {
        await stop(next);
      }
    });
  });
}

describe('the engine lease on PostgreSQL, when its session is cut', { skip: DATABASES[1]!.skip }, () => {
  it('is taken back while nobody else holds it; a server that finds another holding it stops', async () => {
    const target = await DATABASES[1]!.fresh();
    const server = await start(['--data-dir', tempDir(), '--db', target, '--port', '0', '--cpus', '2']);
    const admin = new pg.Client({ connectionString: target, application_name: 'the-test' });
    await admin.connect();
    try {
      const name = `periscope-engine pid=${server.child.pid} host=${hostname()}`.slice(0, 63);
      const leaseSession = async (): Promise<number | undefined> => {
        const { rows } = await admin.query<{ pid: number }>(
          `select a.pid from pg_locks l join pg_stat_activity a on a.pid = l.pid where l.locktype = 'advisory' and l.granted and a.application_name = $1`,
          [name],
        );
        return rows[0]?.pid;
      };
      const firstSession = await eventually('the lease session', leaseSession);
      await admin.query('select pg_terminate_backend($1)', [firstSession]);
      const retaken = await eventually('the lease to be taken back on a new session', async () => {
        const pid = await leaseSession();
        return pid !== undefined && pid !== firstSession && pid;
      });
      // It still runs experiments, and still keeps other engines out.
      const id = await submit(server.base, 'after-the-cut', 'echo fine');
      await eventually('an experiment to succeed after the cut', async () => (await statusOf(server.base, id)) === 'Succeeded', 60_000);

      // Another session waits for the lock; when the server's session is cut, that one has it first.
      const intruder = new pg.Client({ connectionString: target, application_name: 'the-intruder' });
      await intruder.connect();
      const waiting = intruder.query('select pg_advisory_lock($1::bigint)', [engineLockKey('public').toString()]);
      await eventually('the intruder to wait for the lock', async () => {
        const { rows } = await admin.query(`select 1 from pg_locks l join pg_stat_activity a on a.pid = l.pid where l.locktype = 'advisory' and not l.granted and a.application_name = 'the-intruder'`);
        return rows.length === 1;
      });
      const exited = once(server.child as ChildProcess, 'exit');
      await admin.query('select pg_terminate_backend($1)', [retaken]);
      await waiting;
      const [code] = await exited;
      assert.equal(code, 1);
      assert.match(server.output(), /periscope: lost the engine lease of postgres \S+ while its database session was down, and another Periscope server \(database session \d+, application_name the-intruder, connected from 127\.0\.0\.1, since [^)]+\) holds it now: stopping this server/);
      await intruder.end();
    } finally {
      await admin.end();
    }
  });
});

describe('the SQLite lock file', () => {
  const log = { info() {}, warn() {}, error() {}, fatal() {} };
  const procStart = (pid: number) => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
  };

  it('names a live holder (pid and start time), is taken over when the pid was reused or is gone, and goes on release', async () => {
    const file = join(tempDir(), 'periscope.db');
    writeFileSync(file, '');
    const lock = `${file}.engine.lock`;
    const holder = (pid: number, startTime: string) => writeFileSync(lock, JSON.stringify({ pid, startTime, host: hostname(), since: '2020-01-01T00:00:00.000Z' }));

    // A live process (this one, with its real start time) holds it.
    holder(process.pid, procStart(process.pid));
    await assert.rejects(EngineLease.take(file, { log }), (error: Error) => {
      assert.ok(error instanceof EngineLeaseHeldError);
      assert.match(error.message, new RegExp(`^another Periscope server \\(pid ${process.pid}, host .*, since 2020-01-01T00:00:00.000Z\\) holds the engine of sqlite `));
      return true;
    });

    // The same pid with another start time is another process: the pid was reused, the holder is gone.
    holder(process.pid, String(Number(procStart(process.pid)) + 1));
    const lease = await EngineLease.take(file, { log });
    assert.equal(JSON.parse(readFileSync(lock, 'utf8')).startTime, procStart(process.pid));
    // And now this process holds it: another lease in it is refused too.
    await assert.rejects(EngineLease.take(file, { log }), EngineLeaseHeldError);
    await lease.release();
    assert.throws(() => readFileSync(lock), /ENOENT/);

    // A pid that exists no more, and a file that is not a lock file at all, are stale.
    holder(2 ** 22 + 1, '1');
    await (await EngineLease.take(file, { log })).release();
    writeFileSync(lock, '');
    await (await EngineLease.take(file, { log })).release();
    assert.throws(() => readFileSync(lock), /ENOENT/);
  });

  it('needs no lock for :memory:', async () => {
    const a = await EngineLease.take(':memory:', { log });
    const b = await EngineLease.take(':memory:', { log });
    await a.release();
    await b.release();
  });
});
