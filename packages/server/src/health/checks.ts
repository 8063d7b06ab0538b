import { stat } from 'node:fs/promises';
import { DEFAULT_MIGRATION_LOCK_TABLE, DEFAULT_MIGRATION_TABLE, sql, type Kysely } from 'kysely';
import type { Db } from '../db/database.js';
import type { Database } from '../db/schema.js';

/** Tables every API call path needs; one of them missing means the schema is not (all) there. */
const CORE_TABLES: ReadonlyArray<keyof Database> = [
  'users',
  'tokens',
  'experiments',
  'environments',
  'trials',
  'executors',
  'flags',
  'metrics',
  'checkpoints',
  'models',
  'model_labels',
  'model_versions',
];

export interface StoreHealthOptions {
  /** The SQLite file the server opened; absent for PostgreSQL and `:memory:`. */
  file?: string | undefined;
  /** Names of the migrations this server brought the schema up to at start (db/migrations.ts). */
  migrations: readonly string[];
  /**
   * How long one check's answer is reused, in ms (default 1000). Health is polled by load balancers and
   * `periscope health`; a check costs two reads and a one-row write, so a burst of polls costs one check.
   */
  cacheMs?: number;
  /** A check that has not answered after this many ms reports the store as hanging (default 5000). */
  timeoutMs?: number;
}

interface FileIdentity {
  dev: number;
  ino: number;
}

/**
 * Whether the store can really serve the API, not merely answer `select 1`: the SQLite file is still the one
 * opened at start (deleting or replacing it under an open handle leaves SQLite writing to an unlinked inode),
 * every migration of this server is recorded, the core tables can be read, and a write commits.
 *
 * The write is a committed no-op update of Kysely's one-row migration-lock table (`is_locked = is_locked`).
 * Committed rather than rolled back because SQLite in WAL mode only writes at commit: a rolled-back write
 * would not notice a read-only or full disk. That row is the one table both dialects already have that holds
 * no domain data, and neither dialect's migrator reads its value (PostgreSQL locks with an advisory lock,
 * SQLite has a single connection), so the update changes nothing anyone sees.
 */
export class StoreHealth {
  private cached: { at: number; problem: Promise<string | null> } | undefined;

  private constructor(
    private readonly db: Db,
    private readonly options: StoreHealthOptions,
    private readonly opened: FileIdentity | undefined,
  ) {}

  /** Records the identity of the SQLite file as it is now (call right after opening the database). */
  static async create(db: Db, options: StoreHealthOptions): Promise<StoreHealth> {
    const file = options.file === ':memory:' ? undefined : options.file;
    const opened = file === undefined ? undefined : await stat(file);
    return new StoreHealth(db, { ...options, file }, opened && { dev: opened.dev, ino: opened.ino });
  }

  /** What is wrong with the store, in a sentence for the operator; null when it is healthy. */
  problem(): Promise<string | null> {
    const now = Date.now();
    if (this.cached && now - this.cached.at < (this.options.cacheMs ?? 1000)) return this.cached.problem;
    const problem = this.withTimeout(this.check());
    this.cached = { at: now, problem };
    return problem;
  }

  private async withTimeout(check: Promise<string | null>): Promise<string | null> {
    const timeoutMs = this.options.timeoutMs ?? 5000;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(`The ${this.db.dialect} database did not answer the health check within ${timeoutMs} ms.`), timeoutMs);
      timer.unref();
    });
    try {
      return await Promise.race([check, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async check(): Promise<string | null> {
    const fileProblem = await this.checkFile();
    if (fileProblem) return fileProblem;
    const db = this.db.kysely as unknown as Kysely<any>;
    const name = this.db.dialect;

    let applied: Set<string>;
    try {
      applied = new Set((await db.selectFrom(DEFAULT_MIGRATION_TABLE).select('name').execute()).map((row) => row.name as string));
    } catch (error) {
      return `The ${name} database has no Periscope schema (reading ${DEFAULT_MIGRATION_TABLE} failed: ${messageOf(error)}); was it dropped or recreated under the server?`;
    }
    const missing = this.options.migrations.filter((migration) => !applied.has(migration));
    if (missing.length > 0) {
      return `The ${name} database lacks migration${missing.length > 1 ? 's' : ''} ${missing.join(', ')} that this server applied at start; was it dropped or recreated under the server?`;
    }

    try {
      // One round trip: a scalar subquery per table, so a missing table fails the statement, naming it.
      const probes = CORE_TABLES.map((table) => sql`(select 1 from ${sql.table(table)} limit 1)`.as(table));
      await db.selectNoFrom(probes).execute();
    } catch (error) {
      return `The ${name} database cannot read its tables: ${messageOf(error)}.`;
    }

    try {
      const result = await db
        .updateTable(DEFAULT_MIGRATION_LOCK_TABLE)
        .set({ is_locked: sql`is_locked` })
        .where('id', '=', 'migration_lock')
        .executeTakeFirst();
      if (result.numUpdatedRows !== 1n) return `The ${name} database has lost the row of ${DEFAULT_MIGRATION_LOCK_TABLE} that the health check writes.`;
    } catch (error) {
      return `The ${name} database refuses writes: ${messageOf(error)}.`;
    }
    return null;
  }

  private async checkFile(): Promise<string | null> {
    const file = this.options.file;
    if (file === undefined || this.opened === undefined) return null;
    let now;
    try {
      now = await stat(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        return `The SQLite file ${file} was deleted while the server had it open: what the server writes now is lost when it stops. Stop the server and restore the file.`;
      }
      return `The SQLite file ${file} cannot be examined: ${messageOf(error)}.`;
    }
    if (now.dev !== this.opened.dev || now.ino !== this.opened.ino) {
      return `The SQLite file ${file} was replaced by another file while the server had the old one open: the server does not see the new file. Restart the server to use it.`;
    }
    return null;
  }
}

function messageOf(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\.$/, '');
}
