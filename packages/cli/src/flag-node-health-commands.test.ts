/**
 * `periscope flag|node|health` as a user runs them: the real binary against a real server, real executor
 * processes. (Apart from execution-commands.test.ts, so each file has the whole per-file time budget: every
 * CLI call costs a TypeScript compile until the CLI ships bundled.)
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { describe, it } from 'node:test';
import { Periscope } from '@periscope/sdk';
import { oneLine, periscope, startPeriscope, startServer, unusedMaster, succeeds } from './testing/cli.js';

const { master } = await startServer();
const sdk = new Periscope({ master });
const ok = (args: string[]) => succeeds(args, { master });

describe('periscope flag', () => {
  it('set, get, incr and list, in words and in JSON', async () => {
    const { experimentId: id } = await sdk.experiments.create({ meta: { name: 'flags', framework: 'Custom', cmd: 'true' }, spec: { Worker: {} }, autoStart: false });
    assert.equal((await ok(['flag', 'get', id, 'stage'])).stdout, 'Flag     stage\nText     -\nInt      -\nVersion  0\n');
    assert.equal((await ok(['flag', 'set', id, 'stage', '--text', 'go', '--int', '-2'])).stdout, 'Set stage: text "go", int -2 (version 1)\n');
    assert.equal((await ok(['flag', 'incr', id, 'stage', '--by', '5'])).stdout, 'stage = 3 (version 2)\n');
    assert.equal((await ok(['flag', 'incr', id, 'stage'])).stdout, 'stage = 4 (version 3)\n');
    assert.deepEqual(JSON.parse((await ok(['flag', 'get', id, 'stage', '--json'])).stdout), { name: 'stage', textValue: 'go', intValue: 4, version: 3 });
    assert.equal((await ok(['flag', 'set', id, 'stage', '--int', '7'])).stdout, 'Set stage: no text, int 7 (version 4)\n', 'a set replaces both values');
    assert.match((await ok(['flag', 'list', id])).stdout, /^FLAG\s+TEXT\s+INT\s+VERSION\nstage\s+-\s+7\s+4\n$/);
  });

  it('get --wait-for answers once the flag changes', async () => {
    const { experimentId: id } = await sdk.experiments.create({ meta: { name: 'flags-wait', framework: 'Custom', cmd: 'true' }, spec: { Worker: {} }, autoStart: false });
    await sdk.flags.set(id, 'go', { intValue: 0 });
    const waiting = startPeriscope(['flag', 'get', id, 'go', '--wait-for', '1', '--timeout', '60', '--json'], { master });
    await ok(['flag', 'set', id, 'go', '--text', 'now']);
    const run = await waiting.exited;
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), { name: 'go', textValue: 'now', intValue: null, version: 2 });
  });

  it('bad flag input exits 2 with one line; an unknown experiment exits 1', async () => {
    const id = 'experiment-1647574374688-0001';
    oneLine(await periscope(['flag', 'set', id, 'f'], { master }), 2, /^periscope: flag set: give --text, --int or both/);
    oneLine(await periscope(['flag', 'set', id, 'f', '--int', '1.5'], { master }), 2, /--int <n>.*'1\.5' is invalid/);
    oneLine(await periscope(['flag', 'incr', id, 'f', '--by', 'x'], { master }), 2, /--by <n>.*'x' is invalid/);
    oneLine(await periscope(['flag', 'get', id, 'f', '--timeout', '5'], { master }), 2, /^periscope: flag get: --timeout applies to --wait-for/);
    oneLine(await periscope(['flag', 'get', id, 'f', '--wait-for', '1', '--timeout', '61'], { master }), 2, /more than the server's 60 seconds/);
    oneLine(await periscope(['flag', 'get', id], { master }), 2, /missing required argument 'flag'/);
    oneLine(await periscope(['flag', 'get', 'experiment-1647574374688-9999', 'f'], { master }), 1, /\(NOT_FOUND\)$/);
  });
});

describe('periscope node list', () => {
  it('shows this machine as a table, filters by label, and prints JSON', async () => {
    const table = (await ok(['node', 'list'])).stdout.split('\n');
    assert.match(table[0]!, /^NODE\s+STATE\s+ARCH\s+CPU\s+MEMORY\s+GPU\s+TRIALS\s+LABELS$/);
    assert.match(table[1]!, /^\S+\s+READY\s+\S+\s+[\d.]+\/[\d.]+\s+[\d.]+[MG]\/[\d.]+[MG]\s+\d+\/\d+\s+\d+ running, \d+ queued\s+.*launcher=local/);
    const [node] = JSON.parse((await ok(['node', 'list', '--json'])).stdout);
    assert.equal((await ok(['node', 'ls', '--label', 'launcher=local', '--json'])).stdout.includes(node.name), true);
    assert.equal((await ok(['node', 'list', '--label', 'launcher=elsewhere'])).stdout, 'No nodes with label launcher=elsewhere.\n');
    oneLine(await periscope(['node', 'list', '--label', 'launcher'], { master }), 2, /--label <key=value>.*'launcher' is invalid/);
  });
});

describe('periscope health', () => {
  it('exits 0 when healthy, 1 when the server says it is not, 3 when nothing answers', async () => {
    const healthy = await ok(['health']);
    assert.match(healthy.stdout, /^healthy: Periscope \S+ · sqlite · local launcher with 1 node · \d+ running, \d+ queued · up \d[\w ]*\n$/);
    assert.equal(JSON.parse((await ok(['health', '--json'])).stdout).status, 'healthy');

    const sick = createServer((_req, res) => {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'SERVICE_UNAVAILABLE', code: 503, success: null, message: 'The sqlite database is not reachable.', result: null, attributes: {} }));
    });
    await new Promise<void>((resolve) => sick.listen(0, '127.0.0.1', resolve));
    try {
      const sickMaster = `http://127.0.0.1:${(sick.address() as { port: number }).port}`;
      oneLine(await periscope(['health'], { master: sickMaster }), 1, new RegExp(`^periscope: ${sickMaster.replaceAll('.', '\\.')} is unhealthy: The sqlite database is not reachable\\.$`));
      const json = await periscope(['health', '--json'], { master: sickMaster });
      assert.equal(json.code, 1);
      assert.deepEqual(JSON.parse(json.stdout), { status: 'unhealthy', message: 'The sqlite database is not reachable.', code: 'SERVICE_UNAVAILABLE' });
    } finally {
      sick.close();
    }
    oneLine(await periscope(['health'], { master: await unusedMaster() }), 3, /^periscope: cannot reach the Periscope server at .*: connection refused/);
  });
});
