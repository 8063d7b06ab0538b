/**
 * Contract test of the Determined face: replays, in order, every request the real Determined SDK (0.38.1) sent
 * for a seed-003 script (testing/determined-sdk-requests.jsonl, a copy of shared/reference/peer-wire's) against
 * a real app on each database, exactly as sent (no Content-Type, DELETE with a body), with the recorded ids
 * replaced by this run's. Every JSON answer must hold each field the SDK's bindings require
 * (testing/determined-required-fields.json) and the values a seed-003 user relies on.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { App } from '../app.js';
import { testApp } from '../testing/app.js';
import { DATABASES, eventually } from '../testing/databases.js';
import { determinedPreHash } from '../users/passwords.js';

interface Recorded {
  sdk_call: string;
  method: string;
  path: string;
  query: Record<string, string[]>;
  body: unknown;
}

const here = (name: string) => new URL(`./testing/${name}`, import.meta.url);
const RECORDED: Recorded[] = readFileSync(here('determined-sdk-requests.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Recorded);
const REQUIRED = JSON.parse(readFileSync(here('determined-required-fields.json'), 'utf8')) as Record<string, { required: Record<string, string> } | null>;
const RECORDED_UUID = 'ddbe8429-7ff0-4e05-a080-d4a5742964d8';

let python = true;
try {
  execFileSync('python3', ['--version']);
} catch {
  python = false;
}

/** A training script of the seed: three validations (loss 0.9, 0.3, 0.5), a checkpoint at each, three lines. */
const TRAIN = `
import os, periscope
ctx = periscope.init()
for step, loss in [(1, 0.9), (2, 0.3), (3, 0.5)]:
    print("training step", step, flush=True)
    ctx.report_validation_metrics(step, {"loss": loss})
    with ctx.checkpoint(step) as path:
        open(os.path.join(path, "weights.txt"), "w").write("step %d" % step)
`;
const file = (path: string, content: string) => ({ path, type: 48, content: Buffer.from(content).toString('base64'), mode: 0o100644, mtime: '1796153070', uid: 0, gid: 0 });

/** Every field the bindings require of `type`, recursively through the nested types they parse. */
function checkFields(type: string, value: unknown, where: string): void {
  const entry = REQUIRED[type];
  if (!entry) return;
  assert.ok(value !== null && typeof value === 'object', `${where}: a ${type} must be an object`);
  for (const [field, expression] of Object.entries(entry.required)) {
    const got = (value as Record<string, unknown>)[field];
    assert.ok(got !== undefined && got !== null, `${where}: ${type}.${field} is required (${expression})`);
    const nested = /^\[?(\w+)\.from_json\(/.exec(expression)?.[1];
    if (!nested) continue;
    if (expression.startsWith('[')) (got as unknown[]).forEach((item, i) => checkFields(nested, item, `${where}.${field}[${i}]`));
    else checkFields(nested, got, `${where}.${field}`);
  }
}

/** The type the SDK parses each answer as (undefined: it reads no body). */
function answerType(r: Recorded): string | undefined {
  const p = r.path.replace('/determined/api/v1', '');
  if (p === '/auth/login') return 'v1LoginResponse';
  if (r.method === 'POST' && p === '/experiments') return 'v1CreateExperimentResponse';
  if (/^\/experiments\/\d+$/.test(p) && r.method === 'GET') return 'v1GetExperimentResponse';
  if (/^\/experiments\/\d+\/trials$/.test(p)) return 'v1GetExperimentTrialsResponse';
  if (/^\/experiments\/\d+\/checkpoints$/.test(p)) return 'v1GetExperimentCheckpointsResponse';
  if (/^\/trials\/\d+$/.test(p)) return 'v1GetTrialResponse';
  if (/^\/trials\/\d+\/checkpoints$/.test(p)) return 'v1GetTrialCheckpointsResponse';
  if (/^\/checkpoints\/[\w-]+$/.test(p) && r.method === 'GET') return 'v1GetCheckpointResponse';
  if (p === '/models' && r.method === 'POST') return 'v1PostModelResponse';
  if (p === '/models' && r.method === 'GET') return 'v1GetModelsResponse';
  if (p === '/model/labels') return 'v1GetModelLabelsResponse';
  if (/^\/models\/[^/]+$/.test(p) && r.method === 'GET') return 'v1GetModelResponse';
  if (/^\/models\/[^/]+\/versions$/.test(p)) return r.method === 'POST' ? 'v1PostModelVersionResponse' : 'v1GetModelVersionsResponse';
  if (/^\/models\/[^/]+\/versions\/\d+$/.test(p)) return 'v1GetModelVersionResponse';
  return undefined;
}

for (const database of DATABASES) {
  it(`replays the Determined SDK's requests, answering what its bindings require (${database.name})`, { skip: database.skip ?? (!python && 'no python3 here') }, async () => {
    const app: App = await testApp(await database.fresh());
    // Executors reach the API it listens on (PERISCOPE_API).
    await app.http.listen({ host: '127.0.0.1', port: 0 });
    app.execution.setApiUrl(`http://127.0.0.1:${(app.http.server.address() as { port: number }).port}`);
    await app.users.create({ username: 'dora', password: 'dora-password', admin: false });
    let token = '';
    let experimentId = 0;
    let trialId = 0;
    let uuid = '';
    let direct = '';
    const answers = new Map<string, any[]>();
    const substitute = (text: string) =>
      text
        .replace(/\/experiments\/1(?=$|\/)/, `/experiments/${experimentId}`)
        .replace(/\/trials\/1(?=$|\/)/, `/trials/${trialId}`)
        .replaceAll(RECORDED_UUID, uuid);
    const send = async (r: Recorded, body: unknown) => {
      const query = new URLSearchParams(Object.entries(r.query).flatMap(([k, vs]) => vs.map((v) => [k, v] as [string, string])));
      const url = `${substitute(r.path)}${query.size > 0 ? `?${query}` : ''}`;
      // As the SDK sends it: the JSON as a string and no Content-Type.
      return app.http.inject({ method: r.method as 'GET', url, headers: token ? { authorization: `Bearer ${token}` } : {}, ...(body != null && { payload: substitute(JSON.stringify(body)) }) });
    };

    for (const r of RECORDED) {
      let body = r.body as any;
      if (r.sdk_call === 'login') body = { ...body, username: 'dora', password: determinedPreHash('dora-password') };
      // The recorded config asks for one GPU per trial; CI has none, so the replay asks for none.
      if (r.sdk_call === 'create_experiment') body = { ...body, config: body.config.replace('slots_per_trial: 1', 'slots_per_trial: 0'), modelDefinition: [file('train.py', TRAIN), { ...file('extra', ''), type: 53, mode: 0o40755 }, file('extra/helper.py', 'X = 1\n')] };
      if (r.sdk_call === 'Experiment.wait') {
        const ended = await eventually('the experiment to end', async () => {
          const answer = (await send(r, null)).json();
          return ['STATE_COMPLETED', 'STATE_ERROR', 'STATE_CANCELED'].includes(answer.experiment.state) && answer;
        }, 60_000);
        const log = await app.http.inject({ method: 'GET', url: `/api/v1/experiment/logs/${ended.experiment.jobId}`, headers: { authorization: `Bearer ${token}` } });
        assert.equal(ended.experiment.state, 'STATE_COMPLETED', log.body);
      }
      const response = await send(r, body);
      assert.equal(response.statusCode, 200, `${r.sdk_call} ${r.method} ${r.path}: ${response.statusCode} ${response.body.slice(0, 300)}`);
      const type = answerType(r);
      let answer: any;
      if (r.path.endsWith('/logs')) {
        assert.match(String(response.headers['content-type']), /ndjson/);
        answer = response.body.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line));
        for (const [i, line] of answer.entries()) checkFields('v1TrialLogsResponse', line.result, `${r.sdk_call} line ${i}`);
      } else if (r.path.startsWith('/determined/checkpoints/')) {
        assert.equal(response.headers['content-type'], 'application/gzip');
        answer = gunzipSync(response.rawPayload);
      } else if (type) {
        answer = response.json();
        checkFields(type, answer, r.sdk_call);
      }
      answers.set(r.sdk_call, [...(answers.get(r.sdk_call) ?? []), answer]);
      if (r.sdk_call === 'login') token = answer.token;
      if (r.sdk_call === 'create_experiment') experimentId = answer.experiment.id;
      if (r.sdk_call === 'Experiment.get_trials') trialId = answer.trials[0].id;
      if (r.sdk_call === 'Trial.top_checkpoint') uuid = answer.checkpoints[0].uuid;
      if (r.sdk_call === 'get_checkpoint') direct = readFileSync(`${answer.checkpoint.training.experimentConfig.checkpoint_storage.container_path}/${uuid}/weights.txt`, 'utf8');
    }

    // The values a seed-003 script relies on.
    const [created] = answers.get('create_experiment')!;
    assert.equal(typeof created.experiment.id, 'number');
    assert.equal(created.experiment.originalConfig, (RECORDED.find((r) => r.sdk_call === 'create_experiment')!.body as { config: string }).config.replace('slots_per_trial: 1', 'slots_per_trial: 0'));
    assert.equal(created.experiment.searcherType, 'single');
    const [login] = answers.get('login')!;
    assert.deepEqual({ username: login.user.username, admin: login.user.admin }, { username: 'dora', admin: false });
    assert.equal(answers.get('get_trial')![0].trial.state, 'STATE_COMPLETED');
    const all = answers.get('Trial.logs')![0].map((l: any) => l.result.message);
    assert.deepEqual(all, ['training step 1\n', 'training step 2\n', 'training step 3\n']);
    // Tail comes newest first (the SDK reverses it).
    assert.deepEqual(answers.get('Trial.logs(tail=2)')![0].map((l: any) => l.result.message), ['training step 3\n', 'training step 2\n']);
    const stepOf = (answer: any) => answer.checkpoints[0].metadata.steps_completed;
    assert.equal(stepOf(answers.get('Trial.top_checkpoint')![0]), 2, 'the top checkpoint is the best by the searcher metric (smallest loss)');
    assert.equal(stepOf(answers.get('Trial.select_checkpoint(latest)')![0]), 3);
    assert.equal(stepOf(answers.get('Trial.select_checkpoint(best,sort_by)')![0]), 2);
    assert.equal(answers.get('Trial.get_checkpoints')![0].checkpoints.length, 3);
    assert.equal(stepOf(answers.get('Experiment.top_checkpoint')![0]), 2);
    const checkpoint = answers.get('get_checkpoint')![0].checkpoint;
    assert.equal(checkpoint.state, 'STATE_COMPLETED');
    assert.equal(checkpoint.training.experimentConfig.searcher.metric, 'loss');
    assert.equal(checkpoint.training.validationMetrics.avgMetrics.loss, 0.3);
    assert.equal(checkpoint.training.experimentConfig.checkpoint_storage.type, 'directory');
    assert.equal(direct, 'step 2', "the SDK's direct download reads <container_path>/<uuid> on this host");
    assert.ok(answers.get('Checkpoint.download(mode=MASTER)')![0].includes(Buffer.from('step 2')), 'the gzip download holds the files');
    const versions = answers.get('Model.get_versions')![0];
    assert.equal(versions.modelVersions[0].checkpoint.uuid, uuid);
    assert.deepEqual(answers.get('get_model_labels')![0].labels, []);
    // Deleted through the face: gone from Periscope's own API too.
    const [after] = await Promise.all([app.http.inject({ method: 'GET', url: `/determined/api/v1/experiments/${experimentId}`, headers: { authorization: `Bearer ${(await app.users.issueToken('dora')).token}` } })]);
    assert.equal(after!.statusCode, 404);
    assert.equal(after!.json().message, `experiment ${experimentId} not found`);
  });
}
