/**
 * `periscope execution|executor` as a user runs them: the real binary against a real server,
 * real executor processes. Gated jobs wait on a file the test creates, so "while it runs" is a fact.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Periscope } from '@periscope/sdk';
import { oneLine, periscope, startServer, tempDir, writeFile, succeeds } from './testing/cli.js';

const { master } = await startServer();
const sdk = new Periscope({ master });
const ID = /experiment-\d{13}-\d{4,}/;

const job = (cmd: string, replicas = 1, envVars: Record<string, string> = {}) =>
  JSON.stringify({ meta: { name: 'cli-execution', framework: 'Custom', cmd, envVars }, spec: { Worker: { replicas, resources: 'cpu=0.1,memory=64M' } } });

const ok = (args: string[]) => succeeds(args, { master });

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
