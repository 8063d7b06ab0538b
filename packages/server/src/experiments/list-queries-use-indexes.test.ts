/**
 * The experiment lists cost a page, not a history: each query the store runs for a filtered page is read from
 * an index range in the order asked for, on both databases (the plan, read with EXPLAIN, is what is checked:
 * a timing would not belong in a test). One user's long history of finished experiments sits beside a few
 * running ones, as on a long-lived server.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CompiledQuery, sql, type QueryId, type RootOperationNode } from 'kysely';
import { openDatabase, type Db } from '../db/database.js';
import { DATABASES } from '../testing/databases.js';
import { ExperimentStore } from './store.js';

const HISTORY = 3000;

async function populate(db: Db): Promise<void> {
  const rows = Array.from({ length: HISTORY }, (_, i) => {
    const owner = i % 3 === 0 ? 'bob' : 'alice';
    const status = i % 300 === 7 ? 'Running' : i % 300 === 8 ? 'Accepted' : 'Succeeded';
    return { id: `experiment-1700000000000-${String(i).padStart(4, '0')}`, uid: `u${i}`, name: `e${i}`, status, spec: '{}', updated_at: i, owner, execution_name: null };
  });
  for (let i = 0; i < rows.length; i += 500) await db.kysely.insertInto('experiments').values(rows.slice(i, i + 500)).execute();
  // PostgreSQL's autovacuum gathers statistics on a live server; SQLite's are never gathered by the server.
  if (db.dialect === 'postgres') await sql`analyze experiments`.execute(db.kysely);
}

/** The store over `db`, with every query it runs kept (as Kysely will run it) for EXPLAIN. */
function capturingStore(db: Db): { store: ExperimentStore; taken: () => CompiledQuery[] } {
  const nodes: { node: RootOperationNode; queryId: QueryId }[] = [];
  const kysely = db.kysely.withPlugin({
    transformQuery: (args) => (nodes.push(args), args.node),
    transformResult: async (args) => args.result,
  });
  return { store: new ExperimentStore(kysely), taken: () => nodes.splice(0).map(({ node, queryId }) => db.kysely.getExecutor().compileQuery(node, queryId)) };
}

/** The plan's text, and whether it reads the experiments through the named index without sorting. */
async function plan(db: Db, query: CompiledQuery): Promise<string> {
  if (db.dialect === 'sqlite') {
    const { rows } = await db.kysely.executeQuery<{ detail: string }>(CompiledQuery.raw(`explain query plan ${query.sql}`, [...query.parameters]));
    return rows.map((r) => r.detail).join('\n');
  }
  // Planner costs on a few thousand rows may still favour a scan; what is checked is that the index serves
  // the query in order, so scans are priced out in this transaction only.
  return db.kysely.transaction().execute(async (tx) => {
    await sql`set local enable_seqscan = off`.execute(tx);
    const { rows } = await tx.executeQuery<{ 'QUERY PLAN': string }>(CompiledQuery.raw(`explain ${query.sql}`, [...query.parameters]));
    return rows.map((r) => r['QUERY PLAN']).join('\n');
  });
}

/**
 * Read from a range of an index that starts with status, in order. With statistics, PostgreSQL may rather take
 * (status, seq) and filter by owner where few of anyone's experiments have that status: also a cost of the
 * page and not of the owner's history, so either is right; and where it expects a handful of rows it may fetch
 * the range as a bitmap and sort that handful. The owner's whole history by (owner, seq), the table, or
 * SQLite sorting (it has no statistics, so its choice does not depend on the data) are not right.
 */
function assertIndexedInOrder(text: string, what: string): void {
  assert.match(text, /\bexperiments_(owner_)?status_seq\b/, `${what} reads an index by status:\n${text}`);
  assert.doesNotMatch(text, /TEMP B-TREE|Seq Scan|SCAN experiments|PRIMARY KEY|experiments_owner_seq/, `${what} reads a range, in order:\n${text}`);
}

for (const database of DATABASES) {
  describe(`experiment list queries (${database.name})`, { skip: database.skip }, () => {
    it("reads a user's filtered page, oldest or newest first, from the (owner, status, seq) index", async () => {
      const db = await openDatabase(await database.fresh());
      try {
        await populate(db);
        const { store, taken } = capturingStore(db);
        const cases: [string, () => Promise<unknown>][] = [
          ['Submarine ?status=Running&limit=50', () => store.list({ owner: 'alice', statuses: ['Running'], limit: 50 })],
          ['a later page of it', () => store.list({ owner: 'alice', statuses: ['Running'], limit: 50, after: 1000 })],
          ['the dashboard, newest first', () => store.newestFirst({ owner: 'alice', statuses: ['Running'], limit: 50 })],
          ['two statuses at once', () => store.newestFirst({ owner: 'alice', statuses: ['Running', 'Accepted'], limit: 50, before: 2500 })],
          ['two statuses, oldest first', () => store.list({ owner: 'alice', statuses: ['Running', 'Accepted'], limit: 50 })],
        ];
        for (const [what, run] of cases) {
          await run();
          const queries = taken();
          assert.ok(queries.length > 0, what);
          for (const query of queries) assertIndexedInOrder(await plan(db, query), what);
        }
        // Unfiltered, a user's page is a range of (owner, seq) in order, Deleted left out row by row (they are few).
        // (A sort over `status IN (every other status)`, what it was before `except`, would fail this.)
        for (const [what, run] of [
          ["a user's page from a cursor", () => store.list({ owner: 'alice', except: ['Deleted'], limit: 50, after: 1500 })],
          ["a user's newest page", () => store.newestFirst({ owner: 'alice', except: ['Deleted'], limit: 50 })],
        ] as const) {
          await run();
          for (const query of taken()) {
            const text = await plan(db, query);
            // PostgreSQL, knowing that most experiments here are alice's, may walk seq itself and filter.
            assert.match(text, db.dialect === 'sqlite' ? /\bexperiments_owner_seq\b/ : /\bexperiments_(owner_seq|pkey)\b/, `${what}:\n${text}`);
            assert.doesNotMatch(text, /TEMP B-TREE|Sort\b|Seq Scan/, `${what}:\n${text}`);
          }
        }
      } finally {
        await db.close();
      }
    });

    it("finds the reconciler's settle candidates by the status index, each one's trials by theirs", async () => {
      const db = await openDatabase(await database.fresh());
      try {
        await populate(db);
        const { store, taken } = capturingStore(db);
        await store.settleCandidates(['Accepted', 'Preparing', 'Ready', 'Running'], ['Succeeded', 'Failed', 'Canceled']);
        const [query] = taken();
        const text = await plan(db, query!);
        assert.match(text, /\bexperiments_status_seq\b/, `experiments by status:\n${text}`);
        // SQLite names the index of the (experiment_id, number) unique constraint itself.
        assert.match(text, /\btrials_experiment_number\b|\bsqlite_autoindex_trials_\d+ \(experiment_id=/, `trials by experiment:\n${text}`);
        assert.doesNotMatch(text, /Seq Scan|SCAN experiments|SCAN trials/, `no scan:\n${text}`);
      } finally {
        await db.close();
      }
    });

    it('answers the same pages with and without the status split', async () => {
      const db = await openDatabase(await database.fresh());
      try {
        await populate(db);
        const store = new ExperimentStore(db.kysely);
        const both = await store.newestFirst({ owner: 'alice', statuses: ['Running', 'Accepted', 'Running'], limit: 7 });
        const all = (await store.newestFirst({ owner: 'alice', limit: HISTORY })).items.filter((e) => e.status === 'Running' || e.status === 'Accepted');
        assert.deepEqual(both.items.map((e) => e.id), all.slice(0, 7).map((e) => e.id));
        assert.equal(both.nextCursor, String(all[6]!.seq));
        const next = await store.newestFirst({ owner: 'alice', statuses: ['Running', 'Accepted'], limit: 7, before: Number(both.nextCursor) });
        assert.deepEqual(next.items.map((e) => e.id), all.slice(7, 14).map((e) => e.id));
        const oldest = await store.list({ owner: 'alice', statuses: ['Accepted', 'Running'], limit: 5 });
        assert.deepEqual(oldest.items.map((e) => e.id), all.slice(-5).reverse().map((e) => e.id));
        const last = await store.list({ owner: 'alice', statuses: ['Accepted', 'Running'], limit: 5, after: all[2]!.seq });
        assert.deepEqual(last.items.map((e) => e.id), [all[1]!.id, all[0]!.id]);
        assert.equal(last.nextCursor, null, 'a page that is not full has no next');

        // An experiment moving between the two statuses while the page is read is listed once, not twice or
        // never (the queries per status share one snapshot).
        const moving = all[0]!;
        for (let i = 0; i < 100; i++) {
          const [page] = await Promise.all([
            store.newestFirst({ owner: 'alice', statuses: ['Running', 'Accepted'], limit: 3 }),
            store.transition(moving.id, { status: i % 2 === 0 ? 'Accepted' : 'Running' }),
          ]);
          assert.equal(page.items.filter((e) => e.id === moving.id).length, 1, `round ${i}`);
        }
      } finally {
        await db.close();
      }
    });
  });
}
