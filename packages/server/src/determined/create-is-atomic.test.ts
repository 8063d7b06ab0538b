/**
 * An experiment created through /determined commits together with its original config, or not at all: the
 * database is made to refuse the config row (a trigger), and the create must then leave no experiment behind.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { sql } from 'kysely';
import { adminHeaders, testApp } from '../testing/app.js';
import { DATABASES } from '../testing/databases.js';

const CONFIG = 'name: atomic\nentrypoint: python3 -c pass\nsearcher: {name: single, metric: loss}\nresources: {slots_per_trial: 0}\n';

for (const database of DATABASES) {
  it(`a create whose config row fails leaves no experiment (${database.name})`, { skip: database.skip }, async () => {
    const app = await testApp(await database.fresh());
    const db = app.db.kysely;
    if (app.db.dialect === 'sqlite') {
      await sql`create trigger refuse_config before insert on determined_configs begin select raise(abort, 'config refused'); end`.execute(db);
    } else {
      await sql`create function refuse_config() returns trigger language plpgsql as $$ begin raise exception 'config refused'; end $$`.execute(db);
      await sql`create trigger refuse_config before insert on determined_configs for each row execute function refuse_config()`.execute(db);
    }
    const headers = adminHeaders(app);
    const refused = await app.http.inject({ method: 'POST', url: '/determined/api/v1/experiments', headers, payload: { config: CONFIG, modelDefinition: [] } });
    assert.ok(refused.statusCode >= 400, `the create fails: ${refused.statusCode} ${refused.body}`);

    const listed = await app.http.inject({ method: 'GET', url: '/api/v1/experiment?limit=10', headers });
    assert.deepEqual(listed.json().result, [], 'no experiment outlived its refused config');

    // With the trigger gone the same create succeeds, so the refusal above was the trigger's.
    await sql`drop trigger refuse_config${sql.raw(app.db.dialect === 'sqlite' ? '' : ' on determined_configs')}`.execute(db);
    const created = await app.http.inject({ method: 'POST', url: '/determined/api/v1/experiments', headers, payload: { config: CONFIG, modelDefinition: [] } });
    assert.equal(created.statusCode, 200, created.body);
    const again = await app.http.inject({ method: 'GET', url: '/api/v1/experiment?limit=10', headers });
    assert.equal(again.json().result.length, 1);
  });
}
