/**
 * `periscope execution|executor|flag|node|health` as a user runs them: the real binary against a real server,
 * real executor processes. Gated jobs wait on a file the test creates, so "while it runs" is a fact.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Periscope } from '@periscope/sdk';
import { oneLine, periscope, startPeriscope, startServer, STACK_TRACE, tempDir, unusedMaster, writeFile, type Run } from './testing/cli.js';

const { master } = await startServer();
const sdk = new Periscope({ master });
const ID = /experiment-\d{13}-\d{4,}/;

const job = (cmd: string, replicas = 1, envVars: Record<string, string> = {}) =>
  JSON.stringify({ meta: { name: 'cli-execution', framework: 'Custom', cmd, envVars }, spec: { Worker: { replicas, resources: 'cpu=0.1,memory=64M' } } });

async function ok(args: string[]): Promise<Run> {
  const run = await periscope(args, { master });
  assert.equal(run.code, 0, `periscope ${args.join(' ')} exited ${run.code}: ${run.stderr}`);
  assert.doesNotMatch(run.stderr, STACK_TRACE);
  return run;
}

describe('periscope execution', () => {
  it('prepare --wait (READY, executors planned), status, list, start --wait (FINISHED), status with results', async () => {
    const spec = writeFile('job.yaml', `meta: { name: two-phase, framework: Custom, cmd: 'echo "rank $RANK"' }\nspec:\n  Worker: { replicas: 2, resources: "cpu=0.1,memory=64M" }\n`);
    const prepared = await ok(['execution', 'prepare', 'two-phase', '-f', spec, '--wait']);
    assert.equal(prepared.stdout, 'two-phase READY\n');
    assert.match(prepared.stderr, /^Prepared two-phase \(experiment-\d+-\d+, (PREPARING|READY)\)\n/);
    const id = ID.exec(prepared.stderr)![0];

    const ready = (await ok(['execution', 'status', 'two-phase'])).stdout;
    assert.match(ready, /^Execution\s+two-phase$/m);
    assert.match(ready, /^Status\s+READY$/m);
    assert.match(ready, new RegExp(`^Experiment\\s+${id} \\(Created\\)$`, 'm'));
    assert.match(ready, /^EXECUTOR\s+ROLE\s+RANK\s+STATE\nworker-0\s+Worker\s+0\s+Pending\nworker-1\s+Worker\s+1\s+Pending$/m);

    const again = await ok(['execution', 'prepare', 'two-phase', '-f', spec, '--json']);
    assert.equal(JSON.parse(again.stdout).experiment.experimentId, id, 'the same spec again is the same experiment');
    const other = writeFile('other.json', job('echo other'));
    oneLine(await periscope(['execution', 'prepare', 'two-phase', '-f', other], { master }), 1, /^periscope: Execution name "two-phase" is already used by experiment .* \(CONFLICT\)$/);

    const table = (await ok(['execution', 'list'])).stdout.split('\n');
    assert.match(table[0]!, /^NAME\s+STATUS\s+EXPERIMENT\s+OUTCOME\s+EXECUTORS\s+AGE$/);
    assert.match(table.find((l) => l.startsWith('two-phase'))!, new RegExp(`^two-phase\\s+READY\\s+${id}\\s+-\\s+2 planned\\s+`));

    const started = await ok(['execution', 'start', 'two-phase', '--wait']);
    assert.equal(started.stdout, 'two-phase FINISHED (Succeeded)\n');
    const done = (await ok(['execution', 'status', 'two-phase'])).stdout;
    assert.match(done, /^Status\s+FINISHED$/m);
    assert.match(done, /^EXECUTOR\s+ROLE\s+RANK\s+NODE\s+STATE\s+EXIT\s+ERROR\nworker-0\s+Worker\s+0\s+\S+\s+Succeeded\s+0\s*\nworker-1\s+Worker\s+1\s+\S+\s+Succeeded\s+0$/m);
    const json = JSON.parse((await ok(['execution', 'status', 'two-phase', '--json'])).stdout);
    assert.deepEqual(json.executionResult.map((r: { exitCode: number }) => r.exitCode), [0, 0]);
    const listed = JSON.parse((await ok(['--json', 'execution', 'ls'])).stdout);
    assert.equal(listed['two-phase'].status, 'FINISHED');

    assert.equal((await ok(['execution', 'start', 'two-phase'])).stdout, 'Started two-phase (FINISHED)\n', 'starting again launches nothing');
    assert.equal((await ok(['execution', 'delete', 'two-phase'])).stdout, `Deleted two-phase (${id})\n`);
    oneLine(await periscope(['execution', 'status', 'two-phase'], { master }), 1, /^periscope: Not found execution "two-phase"\. \(NOT_FOUND\)$/);
  });

  it('prepare --start --wait exits 1 saying which executor failed, and with --json prints the status', async () => {
    const run = await periscope(['execution', 'prepare', 'fails', '-f', writeFile('fail.json', job('exit 3')), '--start', '--wait'], { master });
    assert.equal(run.code, 1, run.stderr);
    assert.equal(run.stdout, 'fails FINISHED (Failed): worker-0 exited with code 3\n');
    // Progress lines (`fails PREPARING`) may come between, depending on when the status is polled.
    assert.match(run.stderr, /^Prepared fails .*\n(fails [A-Z]+\n)*Started fails\n/);
    const json = await periscope(['--json', 'execution', 'start', 'fails', '--wait'], { master });
    assert.equal(json.code, 1);
    assert.equal(JSON.parse(json.stdout).experiment.status, 'Failed');
  });

  it('delete is refused while it runs; cancel stops it, then delete frees the name', async () => {
    await ok(['execution', 'prepare', 'sleeper', '-f', writeFile('sleep.json', job('exec sleep 600')), '--start']);
    for (const deadline = Date.now() + 30_000; (await sdk.executions.status('sleeper')).status !== 'RUNNING'; ) {
      assert.ok(Date.now() < deadline, 'sleeper never ran');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    oneLine(await periscope(['execution', 'delete', 'sleeper'], { master }), 1, /cancel it before deleting it\. \(CONFLICT\)$/);
    assert.equal((await ok(['execution', 'cancel', 'sleeper'])).stdout, 'Canceled sleeper (now FINISHED, Failed)\n');
    await ok(['execution', 'delete', 'sleeper']);
    await ok(['execution', 'prepare', 'sleeper', '-f', writeFile('other.json', job('true'))]);
  });

  it('start --wait --timeout gives up with exit 1 and the last status', async () => {
    const gate = join(tempDir(), 'gate');
    await ok(['execution', 'prepare', 'slow', '-f', writeFile('slow.json', job(`until [ -e '${gate}' ]; do sleep 0.02; done`)), '--wait']);
    const run = await periscope(['execution', 'start', 'slow', '--wait', '--timeout', '0.2'], { master });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^periscope: execution slow is still (READY|RUNNING) after \d+ s$/m);
    writeFileSync(gate, '');
    await sdk.executions.wait('slow', { pollIntervalMs: 20 });
  });
});

describe('periscope executor cancel', () => {
  it('stops the named executors while the others run on; ended ones are reported; unknown ones exit 1', async () => {
    const gate = join(tempDir(), 'gate');
    await sdk.executions.prepare('trio', JSON.parse(job(`until [ -e '${gate}' ]; do sleep 0.02; done`, 3)));
    await sdk.executions.wait('trio', { until: 'READY', pollIntervalMs: 20 });
    const running = await sdk.executions.start('trio');
    const names = (await sdk.experiments.trials(running.experiment.experimentId))[0]!.executors.map((e) => e.name);
    assert.equal((await ok(['executor', 'cancel', names[1]!])).stdout, `Canceled ${names[1]}\n`);
    assert.deepEqual((await sdk.executions.status('trio')).executionResult!.map((r) => r.state)[1], 'Canceled');
    writeFileSync(gate, '');
    const done = await sdk.executions.wait('trio', { pollIntervalMs: 20 });
    assert.deepEqual(done.executionResult!.map((r) => r.state), ['Succeeded', 'Canceled', 'Succeeded']);
    assert.equal((await ok(['executor', 'cancel', names[0]!, names[1]!])).stdout, `${names[0]} had already ended\n${names[1]} had already ended\n`);
    oneLine(await periscope(['executor', 'cancel', 'nobody-worker-0'], { master }), 1, /^periscope: Not found executor: nobody-worker-0\. \(NOT_FOUND\)$/);
  });
});

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
