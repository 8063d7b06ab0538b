/**
 * The Determined face end to end, driven the way the real Determined Python SDK (0.38.1) drives it: a real
 * server process, a user made through Periscope's own API, and det_sdk_client.py (a stdlib stand-in for the
 * SDK, since it cannot be installed here) playing the seed-003 scenario with DET_MASTER=<server>/determined:
 * submit, wait, trials, logs, checkpoints (the best and the latest, downloaded as gzip), models and versions,
 * deletes, logout. The client checks every answer against the fields the SDK's bindings require
 * (testing/determined-required-fields.json, a copy of shared/reference/peer-wire's) and fails naming the call,
 * type and field; this test then checks what came back.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, it } from 'node:test';
import { tempDir } from '../testing/databases.js';
import { api, start } from '../testing/server-process.js';

const CLIENT = fileURLToPath(new URL('./det_sdk_client.py', import.meta.url));
/** The vendored copy first (CI clones the repo alone), then the shared reference beside a checkout. */
const REQUIRED_FIELDS = [new URL('./testing/determined-required-fields.json', import.meta.url), new URL('../../../../../shared/reference/peer-wire/determined-required-fields.json', import.meta.url)]
  .map((url) => fileURLToPath(url))
  .find((path) => existsSync(path));

let python = true;
try {
  execFileSync('python3', ['--version'], { stdio: 'ignore' });
} catch {
  python = false;
}
const skip = !python ? 'no python3' : !REQUIRED_FIELDS && 'no determined-required-fields.json (testing/ or shared/reference/peer-wire/)';

/** Three lines, validations with loss 0.9, 0.3, 0.5 at steps 1-3, and a checkpoint at each holding weights.txt. */
const TRAIN = `import os
import periscope

ctx = periscope.init()
for step, loss in [(1, 0.9), (2, 0.3), (3, 0.5)]:
    print("line", step, flush=True)
    ctx.report_validation_metrics(step, {"loss": loss})
    with ctx.checkpoint(step) as path:
        with open(os.path.join(path, "weights.txt"), "w") as f:
            f.write("step %d" % step)
`;
const CONFIG = 'name: det-flow\nentrypoint: python3 train.py\nsearcher: {name: single, metric: loss, smaller_is_better: true}\nresources: {slots_per_trial: 0}\n';
const PASSWORD = 'dora-password';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the client to its end; it has its own deadlines (120 s for the experiment), this one is a backstop. */
async function runClient(args: string[], env: Record<string, string>, timeoutMs: number): Promise<Run> {
  const childEnv: Record<string, string | undefined> = { ...process.env, PYTHONDONTWRITEBYTECODE: '1', ...env };
  delete childEnv.DET_USER_TOKEN;
  const child = spawn('python3', [CLIENT, ...args], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  after(() => child.kill('SIGKILL'));
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  try {
    const [code] = await once(child, 'close');
    return { code: code as number | null, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

it('det_sdk_client.py: its offline parts hold (login hash, bindings shape checks, model definition, safe gzip-tar extraction)', { skip }, async () => {
  const run = await runClient(['--self-test', '--required-fields', REQUIRED_FIELDS!], {}, 60_000);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout), { selfTest: 'ok' });
});

it('a seed-003 script in the Determined SDK\'s wire protocol (det_sdk_client.py, written from the recorded contract: the real SDK cannot be installed here) runs against the Determined face: experiment, logs, checkpoints, models', { skip, timeout: 300_000 }, async () => {
  const dir = tempDir('periscope-det-flow-');
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir);
  const server = await start(['--data-dir', dataDir, '--db', join(dataDir, 'periscope.db'), '--port', '0']);

  const created = await api(server.base, 'POST', '/api/v1/users', { username: 'dora', password: PASSWORD });
  assert.equal(created.status, 'OK', JSON.stringify(created));

  const modelDir = join(dir, 'model');
  mkdirSync(join(modelDir, 'extra'), { recursive: true });
  writeFileSync(join(modelDir, 'train.py'), TRAIN);
  writeFileSync(join(modelDir, 'extra', 'helper.py'), 'X = 1\n');
  const trace = join(dir, 'requests.jsonl');

  const run = await runClient([], {
    DET_MASTER: `${server.base}/determined`,
    DET_USER: 'dora',
    DET_PASS: PASSWORD,
    DET_MODEL_DIR: modelDir,
    DET_CONFIG: CONFIG,
    DET_REQUIRED_FIELDS: REQUIRED_FIELDS!,
    DET_TRACE: trace,
  }, 240_000);
  const lastRequests = () => (existsSync(trace) ? readFileSync(trace, 'utf8').trim().split('\n').slice(-5).join('\n') : '(no requests)');
  assert.equal(run.code, 0, `client failed: ${run.stderr}\nlast requests:\n${lastRequests()}\nserver:\n${server.output().slice(-3000)}`);
  const out = JSON.parse(run.stdout);
  const why = JSON.stringify(out, null, 1).slice(0, 4000);

  assert.equal(out.me, 'dora');
  assert.equal(out.finalState, 'STATE_COMPLETED', why);
  assert.equal(out.trials.length, 1, why);
  assert.equal(out.trialState, 'STATE_COMPLETED', why);

  // Log messages may end in a newline, as Determined's do.
  const lines = (out.logLines as string[]).map((l) => l.replace(/\r?\n$/, ''));
  for (const step of [1, 2, 3]) assert.ok(lines.includes(`line ${step}`), `line ${step} in the logs: ${JSON.stringify(out.logLines)}`);
  assert.ok(lines.indexOf('line 1') < lines.indexOf('line 2') && lines.indexOf('line 2') < lines.indexOf('line 3'), 'logs in order');
  // tail=2: the server answers the newest first, the client reverses: the last two lines, in order.
  assert.equal(out.tail.length, 2, JSON.stringify(out.tail));
  assert.deepEqual(out.tail, out.logLines.slice(-2));

  // Which checkpoint is which, by the validation metric each one carries (step 1: 0.9, step 2: 0.3, step 3: 0.5).
  const byLoss = new Map<number, string>((out.trialCheckpoints as { uuid: string; avgMetrics: { loss: number } | null }[]).map((c) => [c.avgMetrics?.loss ?? NaN, c.uuid]));
  assert.deepEqual([...byLoss.keys()], [0.3, 0.5, 0.9], `Trial.get_checkpoints sorts by the searcher metric, smaller first: ${JSON.stringify(out.trialCheckpoints)}`);
  const step2 = byLoss.get(0.3)!;
  const step3 = byLoss.get(0.5)!;
  assert.equal(out.topCheckpoint, step2, 'Trial.top_checkpoint: the best by the searcher metric');
  assert.equal(out.bestCheckpoint, step2, 'Trial.select_checkpoint(best, sort_by=loss, smaller_is_better)');
  assert.equal(out.experimentTopCheckpoint, step2, 'Experiment.top_checkpoint');
  assert.equal(out.latestCheckpoint, step3, 'Trial.select_checkpoint(latest)');
  assert.deepEqual(out.topN, [step2], 'Experiment.top_n_checkpoints(2): one per trial');
  assert.equal(out.checkpoint.uuid, step2);
  assert.equal(out.downloadedFiles['weights.txt'], 'step 2', JSON.stringify(out.downloadedFiles));
  assert.equal(out.downloadedLatestFiles['weights.txt'], 'step 3', JSON.stringify(out.downloadedLatestFiles));
  assert.equal(out.checkpointMetadataAfterAdd.note, 'best', JSON.stringify(out.checkpointMetadataAfterAdd));
  assert.equal('note' in out.checkpointMetadataAfterRemove, false, JSON.stringify(out.checkpointMetadataAfterRemove));

  assert.equal(typeof out.modelId, 'number');
  assert.ok(out.modelsListed.includes(out.modelName), 'get_models lists the new model');
  assert.equal(out.registeredVersion, 1);
  assert.equal(out.latestVersion, 1);
  assert.equal(out.versionCheckpoint, step2);
  assert.deepEqual(out.versions, [1]);
  assert.deepEqual(out.modelMetadata, { b: 2 }, 'add_metadata({b: 2}) then remove_metadata(["a"]) on {a: 1}');
  assert.deepEqual(out.labels, ['y', 'z'], 'set_labels(["y", "z"])');
  assert.ok(out.modelLabels.includes('y') && out.modelLabels.includes('z'), JSON.stringify(out.modelLabels));
  assert.equal(out.archivedAfterArchive, true);
  assert.equal(out.archivedAfterUnarchive, false);
  assert.equal(out.modelAfterDelete.status, 404);

  assert.equal(out.deleted, true);
  assert.ok([404, 'STATE_DELETING', 'STATE_DELETED'].includes(out.experimentAfterDelete), `after Experiment.delete: ${out.experimentAfterDelete}`);
  assert.equal(out.meAfterLogout, 401, 'the token is revoked by logout');

  // The negative probes: a wrong password is 403 (the README's contract), an unknown experiment a 404 with a message.
  assert.equal(out.errors.wrongPassword.status, 403, JSON.stringify(out.errors.wrongPassword));
  assert.equal(out.errors.wrongPassword.exception, 'ForbiddenError');
  assert.equal(out.errors.notFound.exception, 'NotFoundError', JSON.stringify(out.errors.notFound));
  assert.equal(out.errors.notFound.status, 404);
  assert.ok(typeof out.errors.notFound.message === 'string' && out.errors.notFound.message.length > 0, 'the 404 carries a message');
});
