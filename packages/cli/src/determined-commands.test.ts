/**
 * The Determined-style commands against a real server running real Python trials: experiment create CONFIG
 * MODEL_DIR, trial list/describe/logs/metrics, checkpoint list/describe/download/delete, experiment
 * top-checkpoint; and their bad input.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { periscope, startServer, tempDir, type Run } from './testing/cli.js';

const TRAIN_PY = `
import json, os, periscope
ctx = periscope.init()
x = float(ctx.hparams["x"])
for step in range(1, int(ctx.max_length) + 1):
    loss = (x - 3) ** 2 + 1.0 / step
    ctx.report_training_metrics(step, {"loss": loss})
    if step % 2 == 0:
        ctx.report_validation_metrics(step, {"loss": loss})
        with ctx.checkpoint(step, {"x": x}) as path:
            open(os.path.join(path, "w.bin"), "wb").write(bytes(range(256)) * step)
for i in range(20):
    print("end line", i, flush=True)
`;

const CONFIG = `
name: cli-grid
entrypoint: python3 train.py
hyperparameters:
  x: {type: categorical, vals: [1.5, 3.2, 5]}
searcher: {name: grid, metric: loss, smaller_is_better: true, max_length: {batches: 4}}
max_restarts: 0
profiling: {enabled: true}
`;

// Here, not in a hook: the server and the files live until the file ends.
const server = await startServer();
server.app.execution.setApiUrl(server.master);
const master = server.master;
const root = tempDir();
mkdirSync(join(root, 'model'));
writeFileSync(join(root, 'model', 'train.py'), TRAIN_PY);
writeFileSync(join(root, 'config.yaml'), CONFIG);

describe('periscope experiment create CONFIG MODEL_DIR, trial and checkpoint commands', () => {
  let experimentId: string;
  const ok = async (args: string[]): Promise<Run> => {
    const run = await periscope(args, { master });
    assert.equal(run.code, 0, `periscope ${args.join(' ')}: ${run.stderr}`);
    return run;
  };

  it('creates the experiment from the config and the model dir, waits, and reports the conversion warnings', async () => {
    const run = await ok(['experiment', 'create', join(root, 'config.yaml'), join(root, 'model'), '--wait']);
    const created = /^Created (experiment-\d+-\d+) \(cli-grid\) from /m.exec(run.stdout);
    assert.ok(created, run.stdout);
    experimentId = created[1]!;
    assert.match(run.stderr, /warning: field "profiling" ignored/);
  });

  it('lists and describes trials, prints their logs and metrics', async () => {
    const list = await ok(['trial', 'list', experimentId]);
    assert.match(list.stdout, /^ID\s+#\s+STATE\s+RESTARTS/);
    assert.equal(list.stdout.match(/Succeeded/g)?.length, 3, list.stdout);
    const trials = JSON.parse((await ok(['--json', 'trial', 'list', experimentId])).stdout) as Array<{ id: number; hparams: { x: number } }>;
    const best = trials.find((t) => t.hparams.x === 3.2)!;

    const describeRun = await ok(['trial', 'describe', String(best.id)]);
    assert.match(describeRun.stdout, /State\s+Succeeded/);
    assert.match(describeRun.stdout, /Validation\s+step 4: loss=0\.29/);
    assert.match(describeRun.stdout, /Checkpoints\s+2/);

    assert.equal((await ok(['trial', 'logs', String(best.id), '--tail', '3'])).stdout, 'end line 17\nend line 18\nend line 19\n');
    assert.equal((await ok(['trial', 'logs', String(best.id), '-f'])).stdout.split('\n').filter(Boolean).length, 20);
    const metrics = await ok(['trial', 'metrics', String(best.id), '--group', 'validation']);
    assert.match(metrics.stdout, /^GROUP\s+STEPS\s+LOSS\nvalidation\s+2\s+0\.54\d*\nvalidation\s+4\s+0\.29\d*\n$/);
  });

  it('finds the top checkpoint, lists, describes, downloads and deletes checkpoints', async () => {
    const top = JSON.parse((await ok(['--json', 'experiment', 'top-checkpoint', experimentId])).stdout) as { uuid: string; trialId: number; training: { hparams: { x: number } } };
    assert.equal(top.training.hparams.x, 3.2);
    const text = await ok(['experiment', 'top-checkpoint', experimentId, '--limit', '3']);
    assert.equal(text.stdout.trim().split('\n').length, 4, text.stdout);

    const list = await ok(['checkpoint', 'list', String(top.trialId), '--sort-by', 'loss']);
    assert.match(list.stdout, new RegExp(`^UUID.*\\n${top.uuid}\\s+${top.trialId}\\s+4\\s+COMPLETED\\s+loss=`));
    assert.match((await ok(['checkpoint', 'describe', top.uuid])).stdout, /w\.bin\s+1024 bytes/);

    const out = join(root, 'downloaded');
    assert.equal((await ok(['checkpoint', 'download', top.uuid, '-o', out])).stdout, `Downloaded ${top.uuid} to ${out}\n`);
    assert.deepEqual(readFileSync(join(out, 'w.bin')), Buffer.alloc(1024).map((_, i) => i % 256));
    assert.deepEqual(JSON.parse(readFileSync(join(out, 'metadata.json'), 'utf8')), { x: 3.2 });

    assert.equal((await ok(['checkpoint', 'delete', top.uuid])).stdout, `Deleted checkpoint ${top.uuid}\n`);
    assert.match((await ok(['checkpoint', 'describe', top.uuid])).stdout, /State\s+DELETED/);
  });

  it('refuses bad input with one line and the documented exit code', async () => {
    const noModelDir = await periscope(['experiment', 'create', join(root, 'config.yaml')], { master });
    assert.equal(noModelDir.code, 2);
    assert.match(noModelDir.stderr, /^periscope: missing MODEL_DIR after .*config\.yaml/);

    const both = await periscope(['experiment', 'create', '-f', join(root, 'config.yaml'), join(root, 'config.yaml'), join(root, 'model')], { master });
    assert.equal(both.code, 2);
    assert.match(both.stderr, /pass either -f SPEC or CONFIG MODEL_DIR, not both/);

    const notADir = await periscope(['experiment', 'create', join(root, 'config.yaml'), join(root, 'nowhere')], { master });
    assert.equal(notADir.code, 2);
    assert.match(notADir.stderr, /^periscope: modelDir: ".*nowhere" is not a directory\n$/);

    const bad = join(root, 'bad.yaml');
    writeFileSync(bad, 'entrypoint: python3 train.py\nhyperparameters:\n  x: {type: double, minval: 2, maxval: 1}\n');
    const badRange = await periscope(['experiment', 'create', bad, join(root, 'model')], { master });
    assert.equal(badRange.code, 2, badRange.stderr);
    assert.match(badRange.stderr, /minval/);

    const followTail = await periscope(['trial', 'logs', '1', '-f', '--tail', '3'], { master });
    assert.equal(followTail.code, 2);
    assert.match(followTail.stderr, /--follow and --tail are mutually exclusive/);

    const unknownMetric = await periscope(['experiment', 'top-checkpoint', experimentId, '--sort-by', 'f1'], { master });
    assert.equal(unknownMetric.code, 1);
    assert.match(unknownMetric.stderr, /validation metric "f1"/);
  });
});
