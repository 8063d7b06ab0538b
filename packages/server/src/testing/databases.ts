/**
 * Connection factory for tests: every store-touching suite runs once per database. SQLite always; PostgreSQL
 * on the server named by PERISCOPE_TEST_PG (default postgres://postgres@127.0.0.1:5432/postgres) in a throw-away
 * database per run. With PERISCOPE_TEST_PG_REQUIRED=1 (as .ci/run sets it) an unreachable PostgreSQL fails
 * the run instead of skipping.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import pg from 'pg';

export interface TestDatabase {
  name: 'sqlite' | 'postgres';
  /** Why this database is skipped, when it is. */
  skip: string | false;
  /** A fresh, empty database target (file path or URL) for one test. */
  fresh(): Promise<string>;
}

const PG_ADMIN_URL = process.env.PERISCOPE_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const PG_REQUIRED = process.env.PERISCOPE_TEST_PG_REQUIRED === '1';

/** Every temp dir this test process made, so what it left elsewhere (Slurm jobs) can be told from others'. */
const made: string[] = [];

export function madeTempDirs(): readonly string[] {
  return made;
}

/**
 * A temp dir, removed once every test of the file has ended. Not at the end of its own test: a test's hooks run
 * in the order they were registered, so a dir made before the app that uses it would be removed while that app
 * is still open and writing into it (a prepare's work dirs), and a failed removal there skipped the app's close
 * and left the file hanging until its timeout.
 */
export function tempDir(prefix = 'periscope-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

// On the root test: after every test's own hooks, which close the apps. An executor a test left running (they
// outlive their server by design) may still be writing: rm retries on ENOTEMPTY.
after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
});

const sqlite: TestDatabase = {
  name: 'sqlite',
  skip: false,
  async fresh() {
    return join(tempDir(), 'periscope.db');
  },
};

async function probePostgres(): Promise<string | false> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
    await client.query('select 1');
    return false;
  } catch (error) {
    const reason = `PostgreSQL at ${PG_ADMIN_URL} is not reachable: ${(error as Error).message}`;
    if (PG_REQUIRED) throw new Error(`${reason} (PERISCOPE_TEST_PG_REQUIRED=1)`);
    return reason;
  } finally {
    await client.end().catch(() => {});
  }
}

let counter = 0;
const postgresSkip = await probePostgres();
/**
 * Databases to drop once the file's tests are done: a root-level hook runs after every test's own hooks, so
 * each app has closed its connections before its database goes (a forced drop would otherwise cut them).
 */
const toDrop: string[] = [];
after(async () => {
  if (toDrop.length === 0) return;
  const dropper = new pg.Client({ connectionString: PG_ADMIN_URL });
  await dropper.connect();
  for (const name of toDrop) await dropper.query(`drop database if exists ${name} with (force)`);
  await dropper.end();
});

const postgres: TestDatabase = {
  name: 'postgres',
  skip: postgresSkip,
  async fresh() {
    const name = `periscope_test_${process.pid}_${Date.now()}_${++counter}`;
    const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
    await admin.connect();
    // The name is generated here from digits and a fixed prefix, never from input.
    await admin.query(`create database ${name}`);
    await admin.end();
    toDrop.push(name);
    const url = new URL(PG_ADMIN_URL);
    url.pathname = `/${name}`;
    return url.toString();
  },
};

export const DATABASES: readonly TestDatabase[] = [sqlite, postgres];

/** Polls until `check` returns a truthy value or the deadline passes (then fails, saying what was awaited). */
export async function eventually<T>(what: string, check: () => T | Promise<T>, timeoutMs = 20_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
