/** A throw-away PostgreSQL database per benchmark, created here and dropped when its scope closes. */
import pg from 'pg';
import type { Scope } from './scope.js';

export const PG_ADMIN_URL = process.env.PERISCOPE_BENCH_PG ?? process.env.PERISCOPE_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export type Target = { name: 'sqlite' } | { name: 'postgres'; url: string } | { name: 'postgres'; skip: string };

let counter = 0;

/** A fresh database URL, or why PostgreSQL is skipped (not reachable). */
export async function throwawayPostgres(scope: Scope): Promise<{ url: string } | { skip: string }> {
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
  const name = `periscope_bench_${process.pid}_${Date.now()}_${++counter}`;
  try {
    await admin.connect();
    // The name is built here from digits and a fixed prefix, never from input.
    await admin.query(`create database ${name}`);
  } catch (error) {
    return { skip: `PostgreSQL at ${PG_ADMIN_URL} is not reachable: ${(error as Error).message}` };
  } finally {
    await admin.end().catch(() => {});
  }
  scope.defer(`database ${name}`, async () => {
    const dropper = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
    await dropper.connect();
    try {
      await dropper.query(`drop database if exists ${name} with (force)`);
    } finally {
      await dropper.end();
    }
  });
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return { url: url.toString() };
}

/**
 * The databases a benchmark runs against, in order: SQLite, then PostgreSQL (a fresh database each time it is
 * asked for) unless `only` excludes it.
 */
export async function targets(scope: Scope, only: readonly string[]): Promise<Target[]> {
  const out: Target[] = [];
  if (only.includes('sqlite')) out.push({ name: 'sqlite' });
  if (only.includes('postgres')) {
    const pgDb = await throwawayPostgres(scope);
    out.push('url' in pgDb ? { name: 'postgres', url: pgDb.url } : { name: 'postgres', skip: pgDb.skip });
  }
  return out;
}
