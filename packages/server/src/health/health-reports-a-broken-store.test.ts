/** Health tells the truth about the store: its file, its schema and its writes, not merely `select 1`. */
import assert from 'node:assert/strict';
import { copyFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import type { App } from '../app.js';
import { call, testApp } from '../testing/app.js';
import { DATABASES, eventually, tempDir } from '../testing/databases.js';
import { start, stop } from '../testing/server-process.js';

interface Health {
  status: number;
  body: { status: string; code: number; success: boolean | null; message: string | null; result: { status: string } | null };
}

async function healthOf(base: string): Promise<Health> {
  const response = await fetch(`${base}/api/v1/health`);
  return { status: response.status, body: (await response.json()) as Health['body'] };
}

/** Polls health until it is unhealthy (it caches an answer for about a second); returns the 503. */
async function unhealthy(get: () => Promise<Health>): Promise<Health> {
  return eventually('health to report the store as broken', async () => {
    const health = await get();
    return health.status === 503 ? health : undefined;
  });
}

function assertUnavailable(health: Health, message: RegExp): void {
  assert.equal(health.status, 503);
  assert.equal(health.body.status, 'SERVICE_UNAVAILABLE');
  assert.equal(health.body.code, 503);
  assert.equal(health.body.success, null);
  assert.equal(health.body.result, null);
  assert.match(health.body.message ?? '', message);
}

const viaInject = (app: App) => async (): Promise<Health> => call(app, 'GET', '/api/v1/health', undefined, { authorization: '' });

describe('health of a real server process on SQLite', () => {
  it('is healthy, then 503 naming the file once the SQLite file is deleted under the server', async () => {
    const dataDir = tempDir();
    const server = await start(['--data-dir', dataDir, '--port', '0']);
    const healthy = await healthOf(server.base);
    assert.equal(healthy.status, 200, healthy.body.message ?? '');
    assert.equal(healthy.body.result?.status, 'healthy');

    const file = join(dataDir, 'periscope.db');
    rmSync(file);
    rmSync(`${file}-wal`, { force: true });
    rmSync(`${file}-shm`, { force: true });
    const broken = await unhealthy(() => healthOf(server.base));
    assertUnavailable(broken, new RegExp(`The SQLite file ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} was deleted while the server had it open`));
    await stop(server);
  });
});

describe('health of an in-process app on SQLite', () => {
  it('reports a SQLite file replaced by another one', async () => {
    const file = join(tempDir(), 'periscope.db');
    const app = await testApp(file);
    assert.equal((await viaInject(app)()).status, 200);
    // Someone restores a copy over the live file: same name, different inode.
    const copy = `${file}.copy`;
    copyFileSync(file, copy);
    renameSync(copy, file);
    assertUnavailable(await unhealthy(viaInject(app)), /periscope\.db was replaced by another file while the server had the old one open/);
  });
});

for (const database of DATABASES) {
  describe(`health on ${database.name}`, { skip: database.skip }, () => {
    it('stays healthy across polls of a working store', async () => {
      const app = await testApp(await database.fresh());
      for (let i = 0; i < 3; i++) {
        const health = await viaInject(app)();
        assert.equal(health.status, 200, health.body.message ?? '');
        assert.equal(health.body.result?.status, 'healthy');
      }
    });

    it('reports a store that refuses writes, with the database\'s reason', async () => {
      const target = await database.fresh();
      const app = await testApp(target);
      assert.equal((await viaInject(app)()).status, 200);
      // A trigger stands in for a full or read-only disk: reads work, every write of the check fails.
      if (database.name === 'sqlite') {
        const other = new SQLite(target);
        other.exec(`create trigger no_writes before update on kysely_migration_lock begin select raise(abort, 'writes are refused here'); end`);
        other.close();
      } else {
        const client = new pg.Client({ connectionString: target });
        await client.connect();
        await client.query(`create function refuse() returns trigger language plpgsql as $$ begin raise exception 'writes are refused here'; end $$`);
        await client.query('create trigger no_writes before update on kysely_migration_lock for each row execute function refuse()');
        await client.end();
      }
      assertUnavailable(await unhealthy(viaInject(app)), new RegExp(`The ${database.name} database refuses writes: .*writes are refused here`));
    });
  });
}

describe('health on postgres with the schema recreated empty', { skip: DATABASES[1]!.skip }, () => {
  it('is healthy, then 503 saying the schema is gone while the API fails', async () => {
    const target = await DATABASES[1]!.fresh();
    const app = await testApp(target);
    assert.equal((await viaInject(app)()).status, 200);

    const client = new pg.Client({ connectionString: target });
    await client.connect();
    await client.query('drop schema public cascade');
    await client.query('create schema public');
    await client.end();

    assertUnavailable(await unhealthy(viaInject(app)), /The postgres database has no Periscope schema \(reading kysely_migration failed: relation "kysely_migration" does not exist\)/);
    // What health now says is what the API does: it cannot serve.
    assert.equal((await call(app, 'GET', '/api/v1/experiment')).status, 500);
  });
});
