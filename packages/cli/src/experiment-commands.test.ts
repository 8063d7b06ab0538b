/** `periscope experiment …` as a user runs it: the real binary against a real server on a random port. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Periscope } from '@periscope/sdk';
import { periscope, startPeriscope, startServer, STACK_TRACE, tempDir, writeFile, succeeds } from './testing/cli.js';

const { master } = await startServer();
const sdk = new Periscope({ master });
const ID = /experiment-\d{13}-\d{4,}/;

/** A Custom job: each role runs its own shell command once. */
const job = (name: string, cmds: Record<string, string>, framework = 'Custom') =>
  JSON.stringify({ meta: { name, framework, cmd: 'true' }, spec: Object.fromEntries(Object.entries(cmds).map(([role, cmd]) => [role, { cmd, resources: 'cpu=0.1,memory=64M' }])) });

const ok = (args: string[]) => succeeds(args, { master });

describe('periscope experiment', () => {
  it('creates from YAML and from JSON, lists (also --json and --status) and gets them', async () => {
    const yaml = writeFile(
      'mnist.yaml',
      ['meta:', '  name: YAML-Job', '  framework: PyTorch', '  cmd: echo "rank $RANK"', 'spec:', '  Master: { replicas: 1, resources: "cpu=0.1" }', '  Worker: { replicas: 2, resources: "cpu=0.1,memory=64M" }', ''].join('\n'),
    );
    const fromYaml = await ok(['experiment', 'create', '-f', yaml, '--wait']);
    const yamlId = ID.exec(fromYaml.stdout)![0];
    assert.match(fromYaml.stdout, new RegExp(`^Created ${yamlId} \\(yaml-job, PyTorch, Master,Worker×2\\)\n${yamlId} Succeeded in `));

    const json = writeFile('job.json', job('json-job', { Worker: 'exit 1' }));
    const fromJson = JSON.parse((await ok(['--json', 'experiment', 'create', '-f', json])).stdout);
    assert.match(fromJson.experimentId, ID);
    assert.equal(fromJson.status, 'Accepted');
    assert.equal(fromJson.spec.meta.name, 'json-job');
    await sdk.experiments.wait(fromJson.experimentId, { pollIntervalMs: 50 });

    const ids = (args: string[]) => ok(args).then((run) => JSON.parse(run.stdout).map((e: { experimentId: string }) => e.experimentId));
    const listed = await ids(['experiment', 'list', '--json']);
    assert.ok(listed.includes(yamlId) && listed.includes(fromJson.experimentId));
    const succeeded = await ids(['experiment', 'list', '--status', 'succeeded', '--json']);
    assert.ok(succeeded.includes(yamlId) && !succeeded.includes(fromJson.experimentId));
    const failed = await ids(['experiment', 'ls', '-s', 'Failed', '--json']);
    assert.ok(failed.includes(fromJson.experimentId) && !failed.includes(yamlId));

    const table = (await ok(['experiment', 'list'])).stdout.split('\n');
    assert.match(table[0]!, /^EXPERIMENT\s+NAME\s+STATUS\s+FRAMEWORK\s+ROLES\s+AGE\s+DURATION$/);
    const row = table.find((line) => line.startsWith(yamlId))!;
    assert.match(row, /^experiment-\S+\s+yaml-job\s+Succeeded\s+PyTorch\s+Master,Worker×2\s+(just now|\d+s ago)\s+[\d.]+m?s$/);
    assert.equal(row.indexOf('Succeeded'), table[0]!.indexOf('STATUS'), 'columns line up');
    assert.doesNotMatch(table.join('\n'), /\u001b\[/, 'no colour when stdout is not a terminal');

    const details = (await ok(['experiment', 'get', yamlId])).stdout;
    assert.match(details, new RegExp(`^Experiment\\s+${yamlId}$`, 'm'));
    assert.match(details, /^Status\s+Succeeded$/m);
    assert.match(details, /^Command\s+echo "rank \$RANK"$/m);
    assert.match(details, /^Worker\s+2\s+cpu=0\.1,memory=64M\s+\(meta\.cmd\)$/m);
    assert.match(details, /^worker-1\s+Succeeded\s+\S+\s+0\s/m);
    assert.equal(JSON.parse((await ok(['experiment', 'get', yamlId, '--json'])).stdout).spec.meta.name, 'yaml-job');
  });

  it('reads the spec from standard input with -f -', async () => {
    const spec = JSON.stringify({ meta: { name: 'from-stdin', framework: 'Custom', cmd: 'true' }, spec: { Worker: {} }, autoStart: false });
    const run = await periscope(['experiment', 'create', '-f', '-', '--json'], { master, input: spec });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(JSON.parse(run.stdout).spec.meta.name, 'from-stdin');
  });

  it('patches from a file and deletes', async () => {
    const created = await sdk.experiments.create({ meta: { name: 'patch-me', framework: 'Custom', cmd: 'true' }, spec: { Worker: {} }, autoStart: false });
    const id = created.experimentId;
    const spec = writeFile('patch.yaml', 'meta: { name: patched, framework: Custom, cmd: "true" }\nspec:\n  Worker: { replicas: 3 }\nautoStart: false\n');
    assert.equal((await ok(['experiment', 'patch', id, '-f', spec])).stdout, `Patched ${id} (patched, Worker×3)\n`);
    assert.equal((await sdk.experiments.get(id)).spec.spec.Worker!.replicas, 3);
    assert.equal((await ok(['experiment', 'delete', id])).stdout, `Deleted ${id}\n`);
    const gone = await periscope(['experiment', 'get', id], { master });
    assert.equal(gone.code, 1);
    assert.equal(gone.stderr, 'periscope: Not found experiment. (NOT_FOUND)\n');
  });

  it('create --wait and wait exit 0 when the experiment Succeeded and 1 when it Failed, saying why', async () => {
    const good = await periscope(['experiment', 'create', '-f', writeFile('good.json', job('good', { Worker: 'echo fine' })), '--wait'], { master });
    assert.equal(good.code, 0, good.stderr);
    const goodId = ID.exec(good.stdout)![0];
    assert.match(good.stdout, new RegExp(`^Created ${goodId} \\(good, Custom, Worker\\)\\n${goodId} Succeeded in [\\d.]+m?s\\n$`));

    const bad = await periscope(['experiment', 'create', '-f', writeFile('bad.json', job('bad', { Worker: 'exit 3' })), '--wait'], { master });
    assert.equal(bad.code, 1);
    const badId = ID.exec(bad.stdout)![0];
    assert.match(bad.stdout, new RegExp(`^${badId} Failed: .*worker-0 exited with code 3`, 'm'));
    assert.doesNotMatch(bad.stderr, STACK_TRACE);

    assert.equal((await periscope(['experiment', 'wait', goodId], { master })).code, 0);
    const waitedBad = await periscope(['experiment', 'wait', badId, '--json'], { master });
    assert.equal(waitedBad.code, 1);
    const answer = JSON.parse(waitedBad.stdout);
    assert.equal(answer.status, 'Failed');
    assert.equal(answer.experiment.experimentId, badId);
    assert.match(answer.message, /exited with code 3/);
  });

  it('wait --timeout gives up with exit 1; cancel stops a running experiment, which then waits as Failed', async () => {
    const { experimentId: id } = await sdk.experiments.create(JSON.parse(job('sleeper', { Worker: 'echo up; exec sleep 600' })));
    const timedOut = await periscope(['experiment', 'wait', id, '--timeout', '0.2'], { master });
    assert.equal(timedOut.code, 1);
    assert.match(timedOut.stderr, new RegExp(`^periscope: ${id} is still (Accepted|Created|Running) after \\d+ s$`, 'm'));
    const canceled = await ok(['experiment', 'cancel', id]);
    assert.equal(canceled.stdout, `Canceled ${id} (now Failed)\n`);
    assert.equal((await periscope(['experiment', 'wait', id], { master })).code, 1);
  });

  it('logs prints every pod with a prefix, --only-master one pod without, --tail the last lines, --json the log', async () => {
    const { experimentId: id } = await sdk.experiments.create(JSON.parse(job('logs', { Master: 'echo m1; echo m2; echo m3', Worker: 'echo w1; echo w2' }, 'PyTorch')));
    await sdk.experiments.wait(id, { pollIntervalMs: 50 });
    assert.equal((await ok(['experiment', 'logs', id])).stdout, 'master-0 | m1\nmaster-0 | m2\nmaster-0 | m3\nworker-0 | w1\nworker-0 | w2\n');
    assert.equal((await ok(['experiment', 'logs', id, '--only-master'])).stdout, 'm1\nm2\nm3\n');
    assert.equal((await ok(['experiment', 'logs', id, '--tail', '1'])).stdout, 'master-0 | m3\nworker-0 | w2\n');
    assert.deepEqual(JSON.parse((await ok(['experiment', 'logs', id, '--json', '--only-master'])).stdout), {
      experimentId: id,
      logContent: [{ podName: `${id}-master-0`, podLog: ['m1', 'm2', 'm3'] }],
    });
  });

  it('logs -f prints lines while the experiment runs, each once, and exits with its outcome when it ends', async () => {
    const gate = join(tempDir(), 'gate');
    const { experimentId: id } = await sdk.experiments.create(
      JSON.parse(job('follow', { Worker: `echo before; while [ ! -e '${gate}' ]; do sleep 0.05; done; echo after; echo last` })),
    );
    const following = startPeriscope(['experiment', 'logs', id, '-f'], { master });
    await following.printed(/^before\n/);
    assert.equal((await sdk.experiments.get(id)).status, 'Running', 'the line came while the experiment ran');
    writeFileSync(gate, '');
    const run = await following.exited;
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'before\nafter\nlast\n');
    assert.match(run.stderr, new RegExp(`^${id} Succeeded in [\\d.]+m?s\\n$`));
  });

  it('create --follow streams the logs of a multi-pod job (JSON lines with --json) and exits 1 if it fails', async () => {
    const spec = writeFile('follow.json', job('follow-fail', { Master: 'echo from master', Worker: 'echo from worker; exit 2' }, 'PyTorch'));
    const run = await periscope(['--json', 'experiment', 'create', '-f', spec, '--follow'], { master });
    assert.equal(run.code, 1, run.stderr);
    const lines = run.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
    const id = ID.exec(run.stderr)![0];
    assert.deepEqual(
      lines.map((l) => [l.podName, l.text]).sort(),
      [[`${id}-master-0`, 'from master'], [`${id}-worker-0`, 'from worker']],
    );
    assert.match(run.stderr, new RegExp(`^Created ${id} .*\\n${id} Failed: .*exited with code 2`));
  });
});
