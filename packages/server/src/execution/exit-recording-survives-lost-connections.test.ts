/**
 * PostgreSQL connections cut (pg_terminate_backend) exactly as executors end: the server's writes of those
 * ends fail, are retried until the database takes them, and every experiment still settles.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import pg from 'pg';
import { DATABASES, eventually, tempDir } from '../testing/databases.js';
import { api, start, stop } from '../testing/server-process.js';
import { groupAlive } from './local/local-launcher.js';

const postgres = DATABASES.find((d) => d.name === 'postgres')!;
const JOBS = 6;
/** How many more times every connection is cut once the executors are gone (their ends are being written then). */
const ROUNDS_AFTER = 300;
const TERMINATE = 'select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()';

describe('exit recording on PostgreSQL', { skip: postgres.skip }, () => {
  it('settles every experiment when the connections are cut as its executors end', async () => {
    const url = await postgres.fresh();
    const dataDir = tempDir();
    const gate = join(tempDir(), 'gate');
    const server = await start(['--data-dir', dataDir, '--port', '0', '--cpus', String(JOBS), '--db', url]);
    const ids: string[] = [];
    for (let i = 0; i < JOBS; i++) {
      const created = await api(server.base, 'POST', '/api/v1/experiment', {
        meta: { name: `cut-${i}`, framework: 'Custom', cmd: 'echo started; while [ ! -e "$GATE" ]; do sleep 0.01; done; echo done', envVars: { GATE: gate } },
        spec: { Worker: { resources: 'cpu=1' } },
      });
      ids.push(created.result.experimentId);
    }
    const pids: number[] = [];
    for (const id of ids) {
      await eventually(`${id} to run`, async () => (await api(server.base, 'GET', `/api/v1/experiment/logs/${id}`)).result.logContent[0].podLog.length === 1);
      pids.push((await api(server.base, 'GET', `/api/v1/experiment/${id}/trials`)).result[0].executors[0].pid);
    }

    const killer = new pg.Client({ connectionString: url });
    await killer.connect();
    let terminated = 0;
    writeFileSync(gate, 'go\n');
    for (let after = 0; after < ROUNDS_AFTER; ) {
      terminated += (await killer.query(TERMINATE)).rowCount ?? 0;
      if (!pids.some(groupAlive)) after++;
    }
    await killer.end();
    assert.ok(terminated > 0, 'connections of the server were cut');

    const statusOf = async (id: string): Promise<string | undefined> => {
      try {
        return (await api(server.base, 'GET', `/api/v1/experiment/${id}`)).result?.status;
      } catch {
        return undefined;
      }
    };
    for (const id of ids) {
      const status = await eventually(`${id} to settle`, async () => {
        const s = await statusOf(id);
        return s !== undefined && ['Succeeded', 'Failed'].includes(s) && s;
      });
      assert.equal(status, 'Succeeded', id);
      const trial = (await api(server.base, 'GET', `/api/v1/experiment/${id}/trials`)).result[0];
      assert.equal(trial.state, 'Succeeded');
      assert.equal(trial.executors[0].exitCode, 0);
    }
    assert.ok(server.output().includes('retrying'), 'the failed writes were logged');
    await stop(server);
  });
});
