import { chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import { migrations, type Dialect } from './migrations.js';
import type { Database } from './schema.js';

export interface Db {
  kysely: Kysely<Database>;
  dialect: Dialect;
  close(): Promise<void>;
}

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}

/**
 * Opens the store: a PostgreSQL URL (`postgres://…`) or a SQLite file path, and brings its schema up to date.
 */
export async function openDatabase(target: string): Promise<Db> {
  const dialect: Dialect = isPostgresUrl(target) ? 'postgres' : 'sqlite';
  const kysely = dialect === 'postgres' ? await openPostgres(target) : openSqlite(target);
  const db: Db = { kysely, dialect, close: () => kysely.destroy() };
  try {
    await migrate(db);
  } catch (error) {
    await db.close();
    throw error;
  }
  return db;
}

function openSqlite(file: string): Kysely<Database> {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const sqlite = new SQLite(file);
  // Other users of the machine have no business reading the store (password hashes, specs).
  if (file !== ':memory:') chmodSync(file, 0o600);
  sqlite.pragma('journal_mode = WAL');
  // Set explicitly: in WAL, NORMAL survives a crash of the process (our promise for kill -9) without an
  // fsync per commit; better-sqlite3 does not keep the pragma's effect otherwise.
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  return new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
}

/**
 * Kysely prepares a new better-sqlite3 statement for every query, which costs more than running it. Hot
 * queries have the same SQL text each time (values are bound parameters), so prepared statements are reused.
 * better-sqlite3 runs one statement at a time on this one connection, so sharing a statement is safe.
 */
const NOTHING_TO_ROLL_BACK = { reader: false, run: () => ({ changes: 0, lastInsertRowid: 0 }) } as unknown as SQLite.Statement;

function withStatementCache(sqlite: SQLite.Database, limit = 512): SQLite.Database {
  const cache = new Map<string, SQLite.Statement>();
  return new Proxy(sqlite, {
    get(target, property, receiver) {
      if (property !== 'prepare') return Reflect.get(target, property, receiver);
      return (source: string) => {
        // SQLite rolls a transaction back by itself when a statement in it fails with SQLITE_FULL (a full
        // disk) and some other errors; Kysely's ROLLBACK would then fail ("no transaction is active") and hide
        // the real error. A rollback with nothing to roll back does nothing.
        if (source === 'rollback' && !target.inTransaction) return NOTHING_TO_ROLL_BACK;
        let statement = cache.get(source);
        if (!statement) {
          statement = target.prepare(source);
          if (cache.size >= limit) cache.delete(cache.keys().next().value!);
          cache.set(source, statement);
        }
        return statement;
      };
    },
  });
}

async function openPostgres(url: string): Promise<Kysely<Database>> {
  // Loaded only when asked for: the embedded default should not carry the PostgreSQL driver in memory.
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  // An idle client losing its connection must not crash the server; the pool replaces it.
  pool.on('error', () => {});
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

async function migrate(db: Db): Promise<void> {
  const migrator = new Migrator({
    db: db.kysely,
    provider: { getMigrations: async () => migrations(db.dialect) },
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(`database migration ${failed ?? ''} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** pg returns bigint columns as strings. */
export function millis(value: number | string | null): number | null {
  return value == null ? null : Number(value);
}
