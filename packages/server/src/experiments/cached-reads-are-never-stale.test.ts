/**
 * The store keeps rows it read by id; every write of an experiment must make the next read see it, also when
 * reads and writes of the same experiment are in flight together (PostgreSQL runs them on different
 * connections). On both databases.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeExperimentSpec } from '@periscope/core';
import type { Kysely } from 'kysely';
import { openDatabase } from '../db/database.js';
import type { Database } from '../db/schema.js';
import { DATABASES, type TestDatabase } from '../testing/databases.js';
import { ExperimentStore } from './store.js';

const ID = 'experiment-1700000000000-0001';
const spec = (name: string) => normalizeExperimentSpec({ meta: { name, framework: 'Custom', cmd: 'true' }, spec: { Worker: {} } }, { lowercaseName: true, experimentId: ID });

/** A store on a fresh database, closed after `run`; `raw` reads and writes the table behind the store's back. */
async function withStore(database: TestDatabase, run: (store: ExperimentStore, raw: Kysely<Database>) => Promise<void>): Promise<void> {
  const db = await openDatabase(await database.fresh());
  try {
    await run(new ExperimentStore(db.kysely), db.kysely);
  } finally {
    await db.close();
  }
}

for (const database of DATABASES) {
  describe(`cached experiment reads (${database.name})`, { skip: database.skip }, () => {
    it('see every kind of write at once', () =>
      withStore(database, async (store) => {
        assert.equal(await store.get(ID), undefined);
        await store.insert({ id: ID, uid: 'u', spec: spec('first'), status: 'Accepted', acceptedAt: 1, owner: 'admin' });
        assert.equal((await store.get(ID))!.status, 'Accepted', 'a miss before the insert is not kept');
        await store.transition(ID, { status: 'Running', runningAt: 2 });
        assert.equal((await store.get(ID))!.status, 'Running');
        await store.replaceSpec(ID, spec('second'));
        assert.equal((await store.get(ID))!.name, 'second');
        await store.requestCancel(ID);
        assert.notEqual((await store.get(ID))!.cancelRequestedAt, null);
        await store.markDeleted(ID);
        assert.equal((await store.get(ID))!.status, 'Deleted');
        await store.delete(ID);
        assert.equal(await store.get(ID), undefined);
        const got = (await store.list({})).items;
        assert.deepEqual(got, [], 'and the list agrees');
      }));

    it('never keep the row a write replaced while a read of it was in flight', () =>
      withStore(database, async (store) => {
        await store.insert({ id: ID, uid: 'u', spec: spec('raced'), status: 'Accepted', acceptedAt: 1, owner: 'admin' });
        for (let i = 0; i < 200; i++) {
          const status = i % 2 === 0 ? 'Running' : 'Ready';
          const before = store.get(ID);
          const write = store.transition(ID, { status });
          const during = store.get(ID);
          await Promise.all([before, write, during]);
          assert.equal((await store.get(ID))!.status, status, `round ${i}`);
        }
      }));

    it('keep the row a write answered, without reading it again', () =>
      withStore(database, async (store, raw) => {
        await store.insert({ id: ID, uid: 'u', spec: spec('kept'), status: 'Accepted', acceptedAt: 1, owner: 'admin' });
        await store.transition(ID, { status: 'Running', runningAt: 2 });
        // Gone from the table behind the store's back: only a kept row can still answer.
        await raw.deleteFrom('experiments').where('id', '=', ID).execute();
        assert.equal((await store.get(ID))?.status, 'Running');
      }));

    it('never keep a written row while another write of it is in flight', () =>
      withStore(database, async (store, raw) => {
        await store.insert({ id: ID, uid: 'u', spec: spec('written'), status: 'Accepted', acceptedAt: 1, owner: 'admin' });
        const statuses = ['Running', 'Ready', 'Preparing', 'Accepted'] as const;
        for (let i = 0; i < 100; i++) {
          await Promise.all([
            store.transition(ID, { status: statuses[i % 4]! }),
            store.transition(ID, { status: statuses[(i + 1) % 4]! }),
            store.replaceSpec(ID, spec(`written-${i}`)),
            store.get(ID),
          ]);
          const stored = await raw.selectFrom('experiments').select(['status', 'name']).where('id', '=', ID).executeTakeFirstOrThrow();
          const got = (await store.get(ID))!;
          assert.deepEqual({ status: got.status, name: got.name }, stored, `round ${i}`);
        }
      }));

    it('derive once per kept row, and afresh after every write (what the GET answer text is made by)', () =>
      withStore(database, async (store) => {
        let made = 0;
        const statusText = (record: { status: string }) => (made++, `status ${record.status}`);
        await store.insert({ id: ID, uid: 'u', spec: spec('derived'), status: 'Accepted', acceptedAt: 1, owner: 'admin' });
        await store.get(ID);
        assert.equal(await store.derived(ID, statusText), 'status Accepted');
        assert.equal(await store.derived(ID, statusText), 'status Accepted');
        assert.equal(made, 1, 'made once while the row is kept');
        for (const status of ['Running', 'Succeeded'] as const) {
          await store.transition(ID, { status });
          assert.equal(await store.derived(ID, statusText), `status ${status}`);
        }
        await store.markDeleted(ID);
        assert.equal(await store.derived(ID, statusText), 'status Deleted');
        await store.delete(ID);
        assert.equal(await store.derived(ID, statusText), undefined);
      }));

    it('give each caller its own record', () =>
      withStore(database, async (store) => {
        await store.insert({ id: ID, uid: 'u', spec: spec('own'), status: 'Accepted', acceptedAt: 1, owner: 'admin' });
        const first = (await store.get(ID))!;
        first.spec.meta.name = 'changed by a caller';
        assert.equal((await store.get(ID))!.spec.meta.name, 'own');
      }));
  });
}
