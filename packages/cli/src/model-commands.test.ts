/**
 * `periscope model …` against a real server: two checkpoints of a parked trial become versions 1 and 2 through
 * the CLI, which lists, labels, archives, downloads and deletes; an unknown model exits 1 with the server's words.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { periscope, STACK_TRACE, startServer, tempDir, type Run } from './testing/cli.js';

const server = await startServer();
const master = server.master;
const UUIDS = ['1b4e28ba-2fa1-11d2-883f-0016d3cca427', '6fa459ea-ee8a-3ca4-894e-db77e160355e'] as const;
const weights = (i: number) => Buffer.from(Array.from({ length: 200 * (i + 1) }, (_, k) => (k * 13 + i) % 256));

async function api(method: string, path: string, body?: unknown): Promise<any> {
  const answer = await fetch(`${master}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${server.token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const envelope = (await answer.json()) as any;
  assert.equal(answer.status, 200, envelope.message);
  return envelope.result;
}

/** A parked experiment's trial reporting two checkpoints, files written in the trial's checkpoint dir. */
async function twoCheckpoints(): Promise<void> {
  const { experimentId } = await api('POST', '/experiment', { meta: { name: 'for-registry', framework: 'Custom', cmd: 'true' }, spec: { Worker: {} }, autoStart: false });
  const deadline = Date.now() + 30_000;
  while ((await api('GET', `/experiment/${experimentId}`)).status !== 'Created') {
    assert.ok(Date.now() < deadline, 'the parked experiment never became Created');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const [trial] = await api('GET', `/experiment/${experimentId}/trials`);
  for (const [i, uuid] of UUIDS.entries()) {
    const dir = join(server.app.execution.layout.checkpointDir(experimentId, 1), uuid);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'model.bin'), weights(i));
    await api('POST', `/trials/${trial.id}/checkpoints`, { uuid, stepsCompleted: 10 * (i + 1) });
  }
}

const ok = async (...args: string[]): Promise<Run> => {
  const run = await periscope(args, { master });
  assert.equal(run.code, 0, `periscope ${args.join(' ')}: ${run.stderr}`);
  return run;
};
const json = async (...args: string[]): Promise<any> => JSON.parse((await ok('--json', ...args)).stdout);

describe('periscope model', () => {
  it('creates, registers versions, lists, labels, archives, downloads and deletes', async () => {
    await twoCheckpoints();
    const created = await ok('model', 'create', 'mnist', '--description', 'digits', '--label', 'prod', '--label', 'cnn', '--workspace', 'vision');
    assert.match(created.stdout, /^Created model mnist \(id \d+\)$/m);
    await ok('model', 'create', 'alpha');

    assert.match((await ok('model', 'register-version', 'mnist', UUIDS[0], '--comment', 'baseline')).stdout, /as version 1 of mnist/);
    assert.equal((await json('model', 'register-version', 'mnist', UUIDS[1])).version, 2);

    const versions = (await ok('model', 'versions', 'mnist')).stdout.trim().split('\n');
    assert.match(versions[0]!, /^VERSION\s+NAME\s+CHECKPOINT/);
    assert.match(versions[1]!, new RegExp(`^2\\s+-\\s+${UUIDS[1]}`));
    assert.match(versions[2]!, new RegExp(`^1\\s+-\\s+${UUIDS[0]}.*baseline`));

    const listed = (await ok('model', 'list')).stdout.trim().split('\n');
    assert.match(listed[0]!, /^ID\s+NAME\s+VERSIONS/);
    assert.deepEqual(listed.slice(1).map((line) => line.split(/\s+/)[1]), ['alpha', 'mnist']);
    assert.deepEqual((await json('model', 'list', '--order-by', 'desc')).map((m: any) => m.name), ['mnist', 'alpha']);
    assert.deepEqual((await json('model', 'list', '--label', 'prod')).map((m: any) => m.name), ['mnist']);
    assert.deepEqual((await json('model', 'list', '--name', 'ALP')).map((m: any) => m.name), ['alpha']);

    const described = (await ok('model', 'describe', 'mnist')).stdout;
    assert.match(described, /Description\s+digits/);
    assert.match(described, /Workspace\s+vision/);
    assert.match(described, /Labels\s+cnn, prod/);
    assert.match(described, new RegExp(UUIDS[0]));

    assert.deepEqual((await json('model', 'label', 'mnist', 'staging', 'cnn')).labels.sort(), ['cnn', 'staging']);
    await ok('model', 'archive', 'mnist');
    assert.deepEqual((await json('model', 'list', '--archived')).map((m: any) => m.name), ['mnist']);
    assert.deepEqual((await json('model', 'list', '--no-archived')).map((m: any) => m.name), ['alpha']);
    await ok('model', 'unarchive', 'mnist');
    assert.equal((await json('model', 'describe', 'mnist')).archived, false);

    const out = join(tempDir(), 'v1');
    assert.match((await ok('model', 'download', 'mnist', '1', '-o', out)).stdout, /Downloaded version 1 of mnist/);
    assert.deepEqual(readFileSync(join(out, 'model.bin')), weights(0));

    const refused = await periscope(['model', 'delete', 'mnist'], { master });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /has 2 version\(s\)/);
    assert.doesNotMatch(refused.stderr, STACK_TRACE);
    assert.match((await ok('model', 'delete', 'mnist', '--force')).stdout, /Deleted model mnist/);
    assert.deepEqual((await json('model', 'list')).map((m: any) => m.name), ['alpha']);
  });

  it('an unknown model exits 1 with the server’s message; a bad flag value exits 2', async () => {
    const unknown = await periscope(['model', 'describe', 'no-such-model'], { master });
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^periscope: .*no-such-model/);
    assert.doesNotMatch(unknown.stderr, STACK_TRACE);
    assert.equal(unknown.stdout, '');

    const badSort = await periscope(['model', 'list', '--sort-by', 'size'], { master });
    assert.equal(badSort.code, 2);
    assert.match(badSort.stderr, /size/);
  });
});
