import type { ExperimentStatus, NormalizedExperimentSpec } from '@periscope/core';
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import { millis } from '../db/database.js';
import type { Database, ExperimentsTable } from '../db/schema.js';

export interface ExperimentRecord {
  seq: number;
  id: string;
  uid: string;
  name: string;
  status: ExperimentStatus;
  spec: NormalizedExperimentSpec;
  acceptedAt: number | null;
  createdAt: number | null;
  runningAt: number | null;
  finishedAt: number | null;
  message: string | null;
  executionName: string | null;
  requestDigest: string | null;
  /** Username of the creator. */
  owner: string;
  /** Set once a cancel was asked for: whatever happens next, the experiment ends Canceled. */
  cancelRequestedAt: number | null;
}

export interface NewExperiment {
  id: string;
  uid: string;
  spec: NormalizedExperimentSpec;
  status: ExperimentStatus;
  acceptedAt: number;
  /** Set when the experiment is created already prepared (Submarine's createdTime). */
  createdAt?: number;
  owner: string;
  executionName?: string;
  requestDigest?: string;
}

/** Statuses an experiment never leaves by a transition (Deleted is reached only through markDeleted). */
export const TERMINAL_STATUSES: readonly ExperimentStatus[] = ['Succeeded', 'Failed', 'Canceled', 'Deleted'];

/**
 * One page from a page per status, each in the same seq order: a query per status is a range of the
 * (owner, status, seq) or (status, seq) index, where `status IN (…)` sorts every matching row first.
 */
function mergedPage(pages: ExperimentPage[], limit: number, order: (a: ExperimentRecord, b: ExperimentRecord) => number): ExperimentPage {
  const items = pages.flatMap((page) => page.items).sort(order).slice(0, limit);
  return { items, nextCursor: items.length === limit ? String(items[items.length - 1]!.seq) : null };
}

/** Rows kept by `get`: the experiments being watched and polled, not the history. */
const CACHED_ROWS = 2_000;

/** Thrown by insert when the execution name is taken (a unique-key violation, on either database). */
export class NameTakenError extends Error {}

export interface StatusChange {
  status: ExperimentStatus;
  createdAt?: number;
  runningAt?: number;
  finishedAt?: number;
  message?: string | null;
}

export interface ExperimentPage {
  items: ExperimentRecord[];
  /** Set when the page is full: pass it as `after` to read on. */
  nextCursor: string | null;
}

export interface ListOptions {
  /** Only these statuses: each is read as its own index range (meant for the few experiments in one status). */
  statuses?: ExperimentStatus[];
  /** All but these statuses (meant for leaving out the few, as Deleted). */
  except?: ExperimentStatus[];
  limit?: number;
  /** Exclusive cursor from a previous page. */
  after?: number;
  /** Only this user's experiments (absent: everyone's, for admins). */
  owner?: string;
}

export interface NewestFirstOptions {
  statuses?: ExperimentStatus[];
  except?: ExperimentStatus[];
  /** Only names containing this text, in any case. */
  nameContains?: string;
  owner?: string;
  limit: number;
  /** Exclusive cursor: only experiments older than this seq. */
  before?: number;
}

/** What changed: an experiment as it now is, or one whose row is gone (or going: Deleted). */
export type ExperimentChange = { record: ExperimentRecord } | { deleted: ExperimentRecord };

/** Storage of experiments behind domain verbs; the only module that writes their SQL. */
export class ExperimentStore {
  /** Told of every write, after it is committed (the dashboard's live feed). */
  readonly #listeners = new Set<(change: ExperimentChange) => void>();
  /**
   * Rows read by id, kept until their experiment is written. This store is the only writer of the table, and
   * one server holds a database (execution/engine-lease.ts), so a row here is the row in the database. Rows,
   * not records: each `get` still builds its own record (callers may change what they are given).
   */
  readonly #rows = new Map<string, Selectable<ExperimentsTable>>();
  /** What `derived` made of each kept row, by its derive function; a forgotten row takes its derivations with it. */
  readonly #derivations = new WeakMap<Selectable<ExperimentsTable>, Map<(record: ExperimentRecord) => unknown, unknown>>();
  /** Moves when a write starts and when it ends: a read that saw it move keeps nothing (it may be stale). */
  #writes = 0;

  constructor(private readonly db: Kysely<Database>) {}

  /** Writes under way, by experiment id (null: writes of every row). */
  readonly #inflight = new Map<string | null, number>();
  /** Writes begun of each experiment that has one under way, and of every row: an overlapped write sees it move. */
  readonly #begun = new Map<string | null, number>();

  /**
   * Runs a write of experiment `id` (every one: null), forgetting its cached row before and after, so a read
   * begun before the write committed (PostgreSQL reads on another connection) cannot keep the old row. A write
   * that answers the row it left (`returning *`) keeps that row, but only when no other write of the same
   * experiment (or of every one) overlapped it: which of two overlapping writes committed last is not known.
   */
  async #write<T>(id: string | null, write: () => Promise<T>, rowOf?: (result: T) => Selectable<ExperimentsTable> | undefined): Promise<T> {
    this.#forget(id);
    const alone = !this.#inflight.has(id) && !this.#inflight.has(null);
    this.#begun.set(id, (this.#begun.get(id) ?? 0) + 1);
    const begun = [this.#begun.get(id), this.#begun.get(null)];
    this.#inflight.set(id, (this.#inflight.get(id) ?? 0) + 1);
    let result: T | undefined;
    try {
      result = await write();
      return result;
    } finally {
      const overlapped = !alone || this.#begun.get(id) !== begun[0] || this.#begun.get(null) !== begun[1];
      const left = this.#inflight.get(id)! - 1;
      if (left > 0) this.#inflight.set(id, left);
      else {
        this.#inflight.delete(id);
        if (id !== null) this.#begun.delete(id);
      }
      this.#forget(id);
      const row = result !== undefined && rowOf ? rowOf(result) : undefined;
      if (row && id !== null && !overlapped) this.#remember(id, row);
    }
  }

  /** A write of experiment `id` that answers the row it left (`returning *`), kept as #write says. */
  #writeRow<R extends Selectable<ExperimentsTable> | undefined>(id: string, write: () => Promise<R>): Promise<R> {
    return this.#write(id, write, (row) => row);
  }

  #forget(id: string | null): void {
    this.#writes++;
    if (id === null) this.#rows.clear();
    else this.#rows.delete(id);
  }

  #remember(id: string, row: Selectable<ExperimentsTable>): void {
    if (this.#rows.size >= CACHED_ROWS) this.#rows.delete(this.#rows.keys().next().value!);
    this.#rows.set(id, row);
  }

  /** Calls `listener` after each committed change until the answered function is called. */
  onChange(listener: (change: ExperimentChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #told<T extends ExperimentRecord | undefined>(record: T, deleted = false): T {
    if (record) for (const listener of this.#listeners) listener(deleted ? { deleted: record } : { record });
    return record;
  }

  /**
   * Writes a new experiment; `alongside` writes what belongs with it (its first trial) in the same transaction,
   * so an answered create is whole after a crash.
   */
  async insert(experiment: NewExperiment, alongside?: (tx: Transaction<Database>, record: ExperimentRecord) => Promise<void>): Promise<ExperimentRecord> {
    const row = await this.#writeRow(experiment.id, () =>
      this.db.transaction().execute(async (tx) => {
        const row = await this.insertRow(tx, experiment);
        await alongside?.(tx, toRecord(row));
        return row;
      }),
    );
    return this.#told(toRecord(row));
  }

  private async insertRow(db: Kysely<Database>, experiment: NewExperiment): Promise<Selectable<ExperimentsTable>> {
    const row = await db
      .insertInto('experiments')
      .values({
        id: experiment.id,
        uid: experiment.uid,
        name: experiment.spec.meta.name,
        status: experiment.status,
        spec: JSON.stringify(experiment.spec),
        accepted_at: experiment.acceptedAt,
        created_at: experiment.createdAt ?? null,
        running_at: null,
        finished_at: null,
        message: null,
        updated_at: experiment.acceptedAt,
        execution_name: experiment.executionName ?? null,
        request_digest: experiment.requestDigest ?? null,
        owner: experiment.owner,
        cancel_requested_at: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow()
      .catch((error: unknown) => {
        if (experiment.executionName !== undefined && isUniqueViolation(error)) throw new NameTakenError(experiment.executionName);
        throw error;
      });
    return row;
  }

  async searcherState(id: string): Promise<unknown> {
    const row = await this.db.selectFrom('experiments').select('searcher_state').where('id', '=', id).executeTakeFirst();
    return row?.searcher_state ? JSON.parse(row.searcher_state) : undefined;
  }

  async saveSearcherState(id: string, snapshot: unknown): Promise<void> {
    await this.#write(id, () => this.db.updateTable('experiments').set({ searcher_state: JSON.stringify(snapshot) }).where('id', '=', id).execute());
  }

  /** Execution names are per user (netunicorn's `UNIQUE(username, experiment_name)`). */
  async getByExecutionName(owner: string, name: string): Promise<ExperimentRecord | undefined> {
    const row = await this.db.selectFrom('experiments').selectAll().where('owner', '=', owner).where('execution_name', '=', name).executeTakeFirst();
    return row && toRecord(row);
  }

  /** Every experiment `owner` created through the executions face, by name. */
  async executions(owner: string): Promise<ExperimentRecord[]> {
    return (await this.db.selectFrom('experiments').selectAll().where('owner', '=', owner).where('execution_name', 'is not', null).orderBy('seq').execute()).map(toRecord);
  }

  /**
   * What `derive` makes of the experiment as `get` reads it (the service's answer text), made once per kept
   * row: a write forgets the row, and with it what was derived from it, so this is exactly as fresh as `get`.
   */
  async derived<T>(id: string, derive: (record: ExperimentRecord) => T): Promise<T | undefined> {
    const cached = this.#rows.get(id);
    if (!cached) {
      const record = await this.get(id);
      return record && derive(record);
    }
    let made = this.#derivations.get(cached);
    if (!made) this.#derivations.set(cached, (made = new Map()));
    if (!made.has(derive)) made.set(derive, derive(toRecord(cached)));
    return made.get(derive) as T;
  }

  async get(id: string): Promise<ExperimentRecord | undefined> {
    const cached = this.#rows.get(id);
    if (cached) return toRecord(cached);
    const writes = this.#writes;
    const row = await this.db.selectFrom('experiments').selectAll().where('id', '=', id).executeTakeFirst();
    if (row && writes === this.#writes) this.#remember(id, row);
    return row && toRecord(row);
  }

  async list(options: ListOptions = {}): Promise<ExperimentPage> {
    const { limit, statuses } = options;
    if (limit !== undefined && statuses && statuses.length > 1) {
      return this.#perStatus(statuses, (db, status) => this.#list(db, { ...options, statuses: [status] }), limit, (a, b) => a.seq - b.seq);
    }
    return this.#list(this.db, options);
  }

  /**
   * A page from one query per status, all read in one snapshot: an experiment moving between two of the
   * statuses meanwhile is neither missed nor listed twice.
   */
  #perStatus(statuses: ExperimentStatus[], page: (db: Kysely<Database>, status: ExperimentStatus) => Promise<ExperimentPage>, limit: number, order: (a: ExperimentRecord, b: ExperimentRecord) => number): Promise<ExperimentPage> {
    return this.db
      .transaction()
      .setIsolationLevel('repeatable read')
      .execute(async (tx) => {
        const pages: ExperimentPage[] = [];
        for (const status of new Set(statuses)) pages.push(await page(tx, status));
        return mergedPage(pages, limit, order);
      });
  }

  async #list(db: Kysely<Database>, options: ListOptions): Promise<ExperimentPage> {
    let query = db.selectFrom('experiments').selectAll().orderBy('seq', 'asc');
    if (options.owner !== undefined) query = query.where('owner', '=', options.owner);
    if (options.statuses) {
      if (options.statuses.length === 0) return { items: [], nextCursor: null };
      query = query.where('status', 'in', options.statuses);
    }
    if (options.except?.length) query = query.where('status', 'not in', options.except);
    if (options.after !== undefined) query = query.where('seq', '>', options.after);
    if (options.limit !== undefined) query = query.limit(options.limit);
    const items = (await query.execute()).map(toRecord);
    const full = options.limit !== undefined && items.length === options.limit;
    return { items, nextCursor: full ? String(items[items.length - 1]!.seq) : null };
  }

  /** A page of the newest experiments first, by key: O(page) however many there are. */
  async newestFirst(options: NewestFirstOptions): Promise<ExperimentPage> {
    if (options.statuses?.length === 0) return { items: [], nextCursor: null };
    if (options.statuses && options.statuses.length > 1) {
      return this.#perStatus(options.statuses, (db, status) => this.#newestFirst(db, { ...options, statuses: [status] }), options.limit, (a, b) => b.seq - a.seq);
    }
    return this.#newestFirst(this.db, options);
  }

  async #newestFirst(db: Kysely<Database>, options: NewestFirstOptions): Promise<ExperimentPage> {
    let query = db.selectFrom('experiments').selectAll().orderBy('seq', 'desc').limit(options.limit);
    if (options.owner !== undefined) query = query.where('owner', '=', options.owner);
    if (options.statuses) query = query.where('status', 'in', options.statuses);
    if (options.except?.length) query = query.where('status', 'not in', options.except);
    if (options.before !== undefined) query = query.where('seq', '<', options.before);
    if (options.nameContains) {
      // LIKE's own wildcards in the text match themselves.
      const pattern = `%${options.nameContains.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      query = query.where(sql<boolean>`lower(name) like ${pattern} escape '\\'`);
    }
    const items = (await query.execute()).map(toRecord);
    return { items, nextCursor: items.length === options.limit ? String(items[items.length - 1]!.seq) : null };
  }

  /**
   * Moves an experiment to a new status; times given are set, others kept. The first terminal status wins: an
   * experiment that has ended is never moved again (answers undefined then, as for an unknown id).
   */
  async transition(id: string, change: StatusChange): Promise<ExperimentRecord | undefined> {
    const row = await this.#writeRow(id, () =>
      this.db
        .updateTable('experiments')
        .set({
          status: change.status,
          updated_at: Date.now(),
          ...(change.createdAt !== undefined && { created_at: change.createdAt }),
          ...(change.runningAt !== undefined && { running_at: change.runningAt }),
          ...(change.finishedAt !== undefined && { finished_at: change.finishedAt }),
          ...(change.message !== undefined && { message: change.message }),
        })
        .where('id', '=', id)
        .where('status', 'not in', TERMINAL_STATUSES)
        .returningAll()
        .executeTakeFirst(),
    );
    return this.#told(row && toRecord(row));
  }

  async replaceSpec(id: string, spec: NormalizedExperimentSpec): Promise<ExperimentRecord | undefined> {
    const row = await this.#writeRow(id, () =>
      this.db
        .updateTable('experiments')
        .set({ spec: JSON.stringify(spec), name: spec.meta.name, updated_at: Date.now() })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirst(),
    );
    return this.#told(row && toRecord(row));
  }

  /**
   * Records the intent to cancel before anything is stopped (kept if already set); an ended experiment has
   * nothing to cancel and is left as it is. Answers the record as it now is.
   */
  async requestCancel(id: string): Promise<ExperimentRecord | undefined> {
    await this.#write(id, () =>
      this.db
        .updateTable('experiments')
        .set({ cancel_requested_at: Date.now(), updated_at: Date.now() })
        .where('id', '=', id)
        .where('cancel_requested_at', 'is', null)
        .where('status', 'not in', TERMINAL_STATUSES)
        .execute(),
    );
    return this.get(id);
  }

  /**
   * Ids of the experiments in `statuses` that have no trial outside `finishedTrialStates` (or no trial at
   * all): the only ones a settle can move. One query, whatever the history: the reconciler used to read every
   * experiment in those statuses and each one's trials, every pass, which at 10k parked experiments (each with a
   * Ready trial) kept the server busy for about a second of every five.
   */
  async settleCandidates(statuses: readonly ExperimentStatus[], finishedTrialStates: readonly string[]): Promise<string[]> {
    const rows = await this.db
      .selectFrom('experiments')
      .select('id')
      .where('status', 'in', statuses)
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('trials').select('trials.id').whereRef('trials.experiment_id', '=', 'experiments.id').where('trials.state', 'not in', finishedTrialStates))))
      .execute();
    return rows.map((r) => r.id);
  }

  /** Non-terminal experiments whose cancel was asked for and not yet carried out. */
  async pendingCancels(): Promise<ExperimentRecord[]> {
    const rows = await this.db.selectFrom('experiments').selectAll().where('cancel_requested_at', 'is not', null).where('status', 'not in', TERMINAL_STATUSES).orderBy('seq').execute();
    return rows.map(toRecord);
  }

  /** The first step of a delete, from any status: its files are purged next, its row last (a restart finishes it). */
  async markDeleted(id: string): Promise<ExperimentRecord | undefined> {
    const row = await this.#write(id, () => this.db.updateTable('experiments').set({ status: 'Deleted', updated_at: Date.now() }).where('id', '=', id).returningAll().executeTakeFirst());
    return this.#told(row && toRecord(row), true);
  }

  /** Which of these ids have a row (an experiment, or one being deleted). */
  async existing(ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.db.selectFrom('experiments').select('id').where('id', 'in', ids).execute();
    return new Set(rows.map((r) => r.id));
  }

  async delete(id: string): Promise<ExperimentRecord | undefined> {
    // Marked Deleted already: a kill between these two leaves nothing anyone reads.
    await this.db.deleteFrom('determined_configs').where('experiment_id', '=', id).execute();
    await this.db.deleteFrom('netunicorn_blobs').where('experiment_id', '=', id).execute();
    const row = await this.#write(id, () => this.db.deleteFrom('experiments').where('id', '=', id).returningAll().executeTakeFirst());
    return this.#told(row && toRecord(row), true);
  }

  /** The experiment with this seq (the integer id the Determined face shows), through the same cache as `get`. */
  async bySeq(seq: number): Promise<ExperimentRecord | undefined> {
    const row = await this.db.selectFrom('experiments').select('id').where('seq', '=', seq).executeTakeFirst();
    return row && this.get(row.id);
  }

  /** The newest id, so a new id generator can start after it even if the clock went backwards. */
  async lastId(): Promise<string | undefined> {
    const row = await this.db.selectFrom('experiments').select('id').orderBy('seq', 'desc').limit(1).executeTakeFirst();
    return row?.id;
  }
}

function toRecord(row: Selectable<ExperimentsTable>): ExperimentRecord {
  return {
    seq: Number(row.seq),
    id: row.id,
    uid: row.uid,
    name: row.name,
    status: row.status as ExperimentStatus,
    spec: JSON.parse(row.spec) as NormalizedExperimentSpec,
    acceptedAt: millis(row.accepted_at),
    createdAt: millis(row.created_at),
    runningAt: millis(row.running_at),
    finishedAt: millis(row.finished_at),
    message: row.message,
    executionName: row.execution_name,
    requestDigest: row.request_digest,
    owner: row.owner,
    cancelRequestedAt: millis(row.cancel_requested_at),
  };
}

function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}
