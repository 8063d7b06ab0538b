/**
 * One engine per database (issue 14 §5). The engine (recovery, the queue, the reconciler, the executors it
 * watches) assumes it is the only one acting on its store: a second server on the same PostgreSQL database or
 * SQLite file would re-attach to the same executors, launch the same queued trials and fight over their
 * statuses. So a server takes this lease before its engine starts and holds it for the life of the process.
 *
 * - PostgreSQL: a session-level advisory lock, on a connection of its own (a pooled one is handed to other
 *   queries and may be closed by the pool, and the lock belongs to the session). PostgreSQL scopes advisory
 *   locks to the database they are taken in, so the key only needs to tell schemas apart: it is a hash of
 *   'periscope-engine' and current_schema() (the schema the store's tables live in). The lock goes with the
 *   session: a server killed with SIGKILL loses it as soon as PostgreSQL sees its connection close.
 * - SQLite: a lock file beside the database file (`<file>.engine.lock`) naming the holder's pid, host and
 *   process start time (/proc/<pid>/stat field 22, so a reused pid is not taken for the holder). A file whose
 *   holder is gone is stale and taken over.
 * - `:memory:` is private to its process: nothing to lock.
 */
import { createHash, randomBytes } from 'node:crypto';
import { linkSync, readFileSync, realpathSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type pg from 'pg';
import { describeDatabase } from '../config.js';
import { isPostgresUrl } from '../db/database.js';

/** Another live Periscope server holds the engine of this database: this one must not start its own. */
export class EngineLeaseHeldError extends Error {}

export interface LeaseLog {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
  fatal(details: object, message: string): void;
}

export interface EngineLeaseOptions {
  log: LeaseLog;
  /**
   * Called when a lost lease cannot be taken back because another server now holds it. The default stops
   * the process (see `stopTheProcess`).
   */
  onLost?: (message: string) => void;
  /** How long a lock held by a server of this host that is already gone is waited for at start (ms). */
  goneHolderWaitMs?: number;
}

const KEY_NAME = 'periscope-engine';

export abstract class EngineLease {
  /** Takes the engine lease of `database` (a SQLite path or a postgres:// URL), or throws EngineLeaseHeldError. */
  static async take(database: string, options: EngineLeaseOptions): Promise<EngineLease> {
    if (isPostgresUrl(database)) return PostgresLease.acquire(database, options);
    if (database === ':memory:') return new NoLease();
    return FileLease.acquire(database);
  }

  /** Gives the lease up (after the engine has stopped). */
  abstract release(): Promise<void>;
}

class NoLease extends EngineLease {
  override async release(): Promise<void> {}
}

/**
 * What happens when the lease was lost and another server took it meanwhile: this process stops, at once and
 * without closing its engine. Its pieces (queue, reconciler, tailers, searches) are not built to be stopped
 * and started again in place, and a server that kept serving the API without them would accept experiments
 * it never runs. Exiting is what a crash does, and a crash is what the engine is built to survive: executors
 * run in their own sessions and keep running, and the server that holds the lease now re-attaches to them
 * and settles what they did. Closing instead (as on SIGTERM) would be no safer and could still be writing
 * statuses after the other engine began.
 */
function stopTheProcess(log: LeaseLog): (message: string) => void {
  return (message) => {
    try {
      log.fatal({}, message);
    } finally {
      process.stderr.write(`periscope: ${message}\n`);
      process.exit(1);
    }
  };
}

function refusal(database: string, holder: string): string {
  return (
    `another Periscope server (${holder}) holds the engine of ${describeDatabase(database)}: it runs that database's trials, ` +
    'and a second engine would launch them twice. Stop that server, or point this one at another database (--db).'
  );
}

// ---------------------------------------------------------------------------------------------- PostgreSQL

/** What this process calls its lease session, so that a refused server can name it (PostgreSQL keeps 63 bytes). */
function applicationName(pid: number, host: string): string {
  return Buffer.from(`${KEY_NAME} pid=${pid} host=${host}`).subarray(0, 63).toString();
}

interface PgHolder {
  pid: number;
  application_name: string | null;
  client_addr: string | null;
  client_hostname: string | null;
  backend_start: Date | null;
}

const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 5000;
const HEARTBEAT_MS = 10_000;

class PostgresLease extends EngineLease {
  private client: pg.Client | undefined;
  private closed = false;
  private reconnecting = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  private readonly onLost: (message: string) => void;
  private readonly me = applicationName(process.pid, hostname());

  private constructor(
    private readonly url: string,
    private readonly driver: typeof import('pg').default,
    private readonly key: bigint,
    private readonly options: EngineLeaseOptions,
  ) {
    super();
    this.onLost = options.onLost ?? stopTheProcess(options.log);
  }

  static async acquire(url: string, options: EngineLeaseOptions): Promise<PostgresLease> {
    // Loaded only when asked for, as the store does.
    const { default: driver } = await import('pg');
    const client = await connect(driver, url);
    try {
      const { rows } = await client.query<{ schema: string }>("select coalesce(current_schema(), '') as schema");
      const key = engineLockKey(rows[0]!.schema);
      const lease = new PostgresLease(url, driver, key, options);
      const deadline = Date.now() + (options.goneHolderWaitMs ?? 15_000);
      for (;;) {
        if (await lease.tryLock(client)) break;
        const holder = await lease.holder(client);
        // Released between the two queries; or held by a server of this host that is gone, whose session
        // PostgreSQL is closing (a server killed a moment ago): both are worth another try for a while.
        if ((!holder || lease.isGoneLocalHolder(holder)) && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, RETRY_FIRST_MS));
          continue;
        }
        throw new EngineLeaseHeldError(refusal(url, describePgHolder(holder)));
      }
      lease.hold(client);
      return lease;
    } catch (error) {
      await client.end().catch(() => {});
      throw error;
    }
  }

  override async release(): Promise<void> {
    this.closed = true;
    clearInterval(this.heartbeat);
    clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    // Ending the session drops the lock anyway; the unlock only makes it explicit.
    await client.query('select pg_advisory_unlock($1::bigint)', [this.key.toString()]).catch(() => {});
    await client.end().catch(() => {});
  }

  private async tryLock(client: pg.Client): Promise<boolean> {
    const { rows } = await client.query<{ taken: boolean }>('select pg_try_advisory_lock($1::bigint) as taken', [this.key.toString()]);
    return rows[0]!.taken;
  }

  /** Who holds the lock (pg_locks splits a bigint key into classid, the high half, and objid, the low half). */
  private async holder(client: pg.Client): Promise<PgHolder | undefined> {
    const unsigned = BigInt.asUintN(64, this.key);
    const { rows } = await client.query<PgHolder>(
      `select l.pid, a.application_name, host(a.client_addr) as client_addr, a.client_hostname, a.backend_start
         from pg_locks l left join pg_stat_activity a on a.pid = l.pid
        where l.locktype = 'advisory' and l.granted and l.objsubid = 1
          and l.database = (select oid from pg_database where datname = current_database())
          and l.classid::bigint = $1::bigint and l.objid::bigint = $2::bigint`,
      [(unsigned >> 32n).toString(), (unsigned & 0xffffffffn).toString()],
    );
    return rows[0];
  }

  /** A holder whose session names a server of this host whose process no longer exists. */
  private isGoneLocalHolder(holder: PgHolder): boolean {
    const pid = Number(/ pid=(\d+) /.exec(holder.application_name ?? '')?.[1]);
    if (!Number.isSafeInteger(pid) || pid === process.pid) return false;
    return holder.application_name === applicationName(pid, hostname()) && processGone(pid);
  }

  private hold(client: pg.Client): void {
    this.client = client;
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, new Error('the connection ended')));
    clearInterval(this.heartbeat);
    // A connection that silently went away (a network cut) raises no event: a query that fails finds it.
    this.heartbeat = setInterval(() => {
      if (this.client !== client) return;
      client.query('select 1').catch((error: Error) => this.lost(client, error));
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  /** The lease's session is gone, and with it the lock: take it back unless another server has it now. */
  private lost(client: pg.Client, error: Error): void {
    if (this.closed || this.client !== client) return;
    this.client = undefined;
    clearInterval(this.heartbeat);
    client.end().catch(() => {});
    this.options.log.error({ err: error }, `lost the database session that holds the engine lease of ${describeDatabase(this.url)}; taking it back`);
    this.reconnecting = true;
    this.scheduleRetry(RETRY_FIRST_MS);
  }

  private scheduleRetry(delayMs: number): void {
    this.retry = setTimeout(() => void this.takeBack(delayMs), delayMs);
    this.retry.unref();
  }

  private async takeBack(delayMs: number): Promise<void> {
    if (this.closed) return;
    let client: pg.Client | undefined;
    try {
      client = await connect(this.driver, this.url);
      if (this.closed) {
        await client.end().catch(() => {});
        return;
      }
      if (await this.tryLock(client)) {
        this.reconnecting = false;
        this.hold(client);
        this.options.log.info({}, `took the engine lease of ${describeDatabase(this.url)} back`);
        return;
      }
      const holder = await this.holder(client);
      if (holder && holder.application_name === this.me) {
        // Our own old session, which PostgreSQL has not closed yet (a heartbeat that timed out on a slow
        // network): end it and try again.
        await client.query('select pg_terminate_backend($1)', [holder.pid]).catch(() => {});
      } else if (holder && !this.isGoneLocalHolder(holder)) {
        await client.end().catch(() => {});
        this.onLost(
          `lost the engine lease of ${describeDatabase(this.url)} while its database session was down, and another Periscope server ` +
            `(${describePgHolder(holder)}) holds it now: stopping this server so that one engine runs that database's trials ` +
            '(their executors keep running; the other server re-attaches to them)',
        );
        return;
      }
      await client.end().catch(() => {});
    } catch (error) {
      await client?.end().catch(() => {});
      this.options.log.warn({ err: error }, `cannot take the engine lease of ${describeDatabase(this.url)} back yet; retrying`);
    }
    if (!this.closed && this.reconnecting) this.scheduleRetry(Math.min(delayMs * 2, RETRY_MAX_MS));
  }
}

async function connect(driver: typeof import('pg').default, url: string): Promise<pg.Client> {
  const name = applicationName(process.pid, hostname());
  const client = new driver.Client({ connectionString: url, application_name: name, keepAlive: true, connectionTimeoutMillis: 10_000, query_timeout: 10_000 });
  // Until `hold` listens: an error of a connection that is being given up must not crash the server.
  client.on('error', () => {});
  await client.connect();
  try {
    // Also when the URL names an application_name of its own: the refusal names the holder by this one.
    await client.query("select set_config('application_name', $1, false)", [name]);
  } catch (error) {
    await client.end().catch(() => {});
    throw error;
  }
  return client;
}

/** The advisory lock's key: 64 bits of a hash of a fixed name and the store's schema. */
export function engineLockKey(schema: string): bigint {
  return BigInt.asIntN(64, createHash('sha256').update(`${KEY_NAME}\0${schema}`).digest().readBigUInt64BE(0));
}

function describePgHolder(holder: PgHolder | undefined): string {
  if (!holder) return 'one that holds its lock and is not visible to this role';
  const name = /^periscope-engine pid=(\d+) host=(.*)$/.exec(holder.application_name ?? '');
  const parts = name ? [`pid ${name[1]}`, `host ${name[2]}`] : [`database session ${holder.pid}`, ...(holder.application_name ? [`application_name ${holder.application_name}`] : [])];
  const from = holder.client_hostname ?? holder.client_addr;
  if (from) parts.push(`connected from ${from}`);
  else if (holder.application_name !== null) parts.push('connected over a local socket');
  if (holder.backend_start) parts.push(`since ${new Date(holder.backend_start).toISOString()}`);
  return parts.join(', ');
}

// -------------------------------------------------------------------------------------------------- SQLite

interface FileHolder {
  pid: number;
  /** /proc/<pid>/stat field 22 (clock ticks after boot); null where /proc is not there. */
  startTime: string | null;
  host: string;
  since: string;
}

class FileLease extends EngineLease {
  private constructor(
    private readonly path: string,
    private readonly mine: FileHolder,
    private readonly inode: number,
  ) {
    super();
  }

  static acquire(database: string): FileLease {
    // The store has opened (created) the file: its real path is the same for every name it is reached by.
    const path = `${realpathSync(resolve(database))}.engine.lock`;
    const mine: FileHolder = { pid: process.pid, startTime: startTimeOf(process.pid), host: hostname(), since: new Date().toISOString() };
    for (let attempt = 0; attempt < 10; attempt++) {
      if (create(path, mine)) return new FileLease(path, mine, statSync(path).ino);
      let found: { holder: FileHolder | undefined; inode: number };
      try {
        found = readHolder(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile
        throw error;
      }
      if (found.holder && isAlive(found.holder)) {
        const h = found.holder;
        const where = h.host === hostname() ? `pid ${h.pid}, host ${h.host}` : `pid ${h.pid}, host ${h.host} (another machine: if that server is gone, delete ${path})`;
        throw new EngineLeaseHeldError(refusal(database, `${where}, since ${h.since}`));
      }
      takeOver(path, found.inode);
    }
    throw new Error(`cannot take the engine lock ${path}: other servers keep taking it over`);
  }

  override async release(): Promise<void> {
    try {
      const { holder, inode } = readHolder(this.path);
      // Only our own file: never one that another server put there after taking a lease we had lost.
      if (inode === this.inode && holder?.pid === this.mine.pid && holder.startTime === this.mine.startTime) unlinkSync(this.path);
    } catch {
      // Already gone.
    }
  }
}

/**
 * Creates the lock file exclusively, content and all: written to a private temporary name (opened with
 * O_EXCL), then linked to the lock's name, which fails when the name exists, as O_EXCL does. A reader never
 * sees a lock file without its holder in it, so an empty file can always be taken for debris.
 */
function create(path: string, holder: FileHolder): boolean {
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}`;
  writeFileSync(temporary, `${JSON.stringify(holder)}\n`, { flag: 'wx', mode: 0o600 });
  try {
    linkSync(temporary, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    unlinkSync(temporary);
  }
}

function readHolder(path: string): { holder: FileHolder | undefined; inode: number } {
  const inode = statSync(path).ino;
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as FileHolder;
    if (!Number.isSafeInteger(parsed.pid) || typeof parsed.host !== 'string') return { holder: undefined, inode };
    return { holder: parsed, inode };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw error;
    return { holder: undefined, inode }; // not a lock file of ours: debris
  }
}

/**
 * Moves a stale lock file out of the way. Two servers may find the same stale file: the rename lets one of
 * them have it; the other, finding it renamed a file that is not the stale one (the first's new lock), puts
 * that back.
 */
function takeOver(path: string, staleInode: number): void {
  const aside = `${path}.stale.${process.pid}.${randomBytes(6).toString('hex')}`;
  try {
    renameSync(path, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  try {
    if (statSync(aside).ino !== staleInode) linkSync(aside, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(aside);
  }
}

/** Whether the process a lock file names still runs: same pid, same start time, not a zombie. */
function isAlive(holder: FileHolder): boolean {
  // A process of another machine cannot be looked at from here: it counts as alive.
  if (holder.host !== hostname()) return true;
  if (holder.startTime === null) return pidExists(holder.pid);
  const stat = procStat(holder.pid);
  if (stat === undefined) return !existsProc() && pidExists(holder.pid);
  return stat.state !== 'Z' && stat.state !== 'X' && stat.startTime === holder.startTime;
}

function startTimeOf(pid: number): string | null {
  return procStat(pid)?.startTime ?? null;
}

/** State (field 3) and start time (field 22) from /proc/<pid>/stat; undefined when there is no such process. */
function procStat(pid: number): { state: string; startTime: string } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may itself hold spaces and parentheses.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0]!, startTime: fields[19]! };
}

function existsProc(): boolean {
  try {
    statSync('/proc/self/stat');
    return true;
  } catch {
    return false;
  }
}

/** No such process any more (or only its zombie, which holds nothing). */
function processGone(pid: number): boolean {
  const stat = procStat(pid);
  if (stat) return stat.state === 'Z' || stat.state === 'X';
  return existsProc() || !pidExists(pid);
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
