/** The server as a user starts it: a real process, a real port, flags and environment variables. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { eventually, tempDir } from './testing/databases.js';
import { api, MAIN, start, stop } from './testing/server-process.js';

describe('periscope server process', () => {
  it('serves the Submarine API on the SQLite file in --data-dir, keeps data across a restart, stops on SIGTERM', async () => {
    const dataDir = tempDir();
    const first = await start(['--data-dir', dataDir, '--port', '0']);
    assert.match(first.banner, /^sqlite /);
    assert.ok(existsSync(join(dataDir, 'periscope.db')));
    const created = await api(first.base, 'POST', '/api/v1/experiment', { autoStart: false, meta: { name: 'proc', framework: 'TensorFlow', cmd: 'true' }, spec: { Worker: { replicas: 1 } } });
    assert.equal(created.status, 'OK');
    const id = created.result.experimentId;
    const prepared = await eventually('the experiment to be prepared', async () => {
      const got = await api(first.base, 'GET', `/api/v1/experiment/${id}`);
      return got.result.status === 'Created' && got.result;
    });
    assert.equal(await stop(first), 0);

    const second = await start(['--data-dir', dataDir, '--port', '0']);
    const got = await api(second.base, 'GET', `/api/v1/experiment/${created.result.experimentId}`);
    assert.deepEqual(got.result, prepared);
    const health: any = await (await fetch(`${second.base}/api/v1/health`)).json();
    assert.equal(health.result.status, 'healthy');
    const docs = await fetch(`${second.base}/api/docs/json`);
    assert.equal(docs.status, 200);
    const openapi = (await docs.json()) as { paths: Record<string, unknown> };
    assert.ok(openapi.paths['/api/v1/experiment/{id}'], Object.keys(openapi.paths).join(' '));
    await stop(second);
  });

  it('starts with `npm start` (the bundled server) as the README says', async () => {
    const dataDir = tempDir();
    const root = fileURLToPath(new URL('../../..', import.meta.url));
    const started = await start(['--data-dir', dataDir, '--port', '0'], {}, ['npm', 'start', '--prefix', root, '--']);
    const ping = await api(started.base, 'GET', '/api/v1/experiment/ping');
    assert.equal(ping.result, 'Pong');
    assert.ok(existsSync(join(dataDir, 'periscope.db')));
    await stop(started, 'SIGTERM', true);
  });

  it('takes settings from environment variables, and flags win over them', async () => {
    const envDir = tempDir();
    const flagDir = tempDir();
    const started = await start(['--data-dir', flagDir], { PERISCOPE_DATA_DIR: envDir, PERISCOPE_PORT: '0', PERISCOPE_HOST: '127.0.0.1' });
    assert.ok(existsSync(join(flagDir, 'periscope.db')));
    assert.ok(!existsSync(join(envDir, 'periscope.db')));
    await stop(started);
  });

  for (const [args, message] of [
    [['--port', 'abc'], /expected a port number/],
    [['--bogus'], /unknown option '--bogus'/],
    [['--log-level', 'loud', '--port', '0'], /log level: "loud"/],
    [['--db', 'postgres://nobody@127.0.0.1:1/none', '--port', '0'], /cannot open the database \(postgres /],
  ] as const) {
    it(`refuses ${args.join(' ')} with one clear line and no stack trace`, () => {
      const result = spawnSync(process.execPath, ['--import', 'tsx', MAIN, '--data-dir', tempDir(), ...args], { encoding: 'utf8' });
      assert.notEqual(result.status, 0);
      assert.match(result.stderr, message);
      assert.doesNotMatch(result.stderr, /\n\s+at /);
    });
  }
});
