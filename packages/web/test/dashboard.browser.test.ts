/**
 * The dashboard end to end in a real Chromium against a real server process (token auth, SQLite, local
 * launcher) running real training: log in, create from YAML, watch it run and finish live, read and follow its
 * logs, see its metric points charted, register its best checkpoint as a model version and find it on the
 * model's page. Also: a pending trial shows why it waits, an invalid spec names its field, a 401 returns to the
 * login page. Each page is kept as a screenshot under test-artifacts/screenshots/.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { eventually, tempDir } from '../../server/src/testing/databases.js';
import { api, start, type Started } from '../../server/src/testing/server-process.js';
import { browserSkip, freshPage, launchBrowser, screenshot } from './browser.js';

const BUILD = fileURLToPath(new URL('../../../scripts/build-web.mjs', import.meta.url));

/** Reports metrics and a checkpoint, then waits for the test's word (a file) so the test sees it running. */
const TRAIN = `
import json, os, sys, time, periscope
ctx = periscope.init()
for step in range(1, 6):
    loss = 1.0 / step
    print(f"step {step} loss {loss:.3f}", flush=True)
    ctx.report_training_metrics(step, {"loss": loss})
ctx.report_validation_metrics(5, {"loss": 0.2})
with ctx.checkpoint(5) as path:
    json.dump({"step": 5}, open(os.path.join(path, "state.json"), "w"))
print("ERROR something on stderr", file=sys.stderr, flush=True)
go = sys.argv[1]
deadline = time.time() + 90
while not os.path.exists(go) and time.time() < deadline:
    time.sleep(0.05)
print("released by the test", flush=True)
`;

/** Creates an experiment from the page, as alice, with her cookie and CSRF token (as the dashboard's own calls do). */
async function createInPage(page: Page, name: string, cmd: string): Promise<string> {
  const body = JSON.stringify({ meta: { name, framework: 'Custom', cmd }, spec: { Worker: { resources: 'cpu=1,memory=64M' } } });
  // A string, evaluated in the page: this file is compiled without the DOM's types.
  const answer = (await page.evaluate(`(async () => {
    const csrf = /periscope_csrf=([^;]+)/.exec(document.cookie)[1];
    const response = await fetch('/api/v1/experiment', { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': csrf }, body: ${JSON.stringify(body)} });
    return response.json();
  })()`)) as { code: number; message: string; result: { experimentId: string } };
  assert.equal(answer.code, 200, answer.message);
  return answer.result.experimentId;
}

const skip = browserSkip();
const work = tempDir();
const go = join(work, 'go');

/**
 * At the top level, not in a before hook: the server's own teardown (an after hook, registered as it starts)
 * then runs once the file's tests are done, not as soon as the hook returns.
 */
async function setUp(): Promise<{ server: Started; browser: Browser; page: Page; errors: string[] }> {
  execFileSync(process.execPath, [BUILD], { stdio: 'inherit' });
  writeFileSync(join(work, 'train.py'), TRAIN);
  const server = await start(['--data-dir', tempDir(), '--port', '0', '--cpus', '1', '--memory', '4G', '--gpus', 'none']);
  const made = await api(server.base, 'POST', '/api/v1/users', { username: 'alice', password: 'alice-password' });
  assert.equal(made.code, 200, made.message);
  const browser = await launchBrowser();
  after(() => browser.close());
  const errors: string[] = [];
  const { page } = await freshPage(browser, errors);
  return { server, browser, page, errors };
}
const { server, page, errors } = skip ? ({} as Awaited<ReturnType<typeof setUp>>) : await setUp();

describe('the dashboard in a browser', { skip }, () => {
  let experimentId = '';

  it('sends a visitor without a session to the login page, and logs in', async () => {
    await page.goto(`${server.base}/experiments?status=Running`);
    await page.waitForURL(/\/login\?next=/);
    await screenshot(page, '01-login');
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill('wrong');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').waitFor();
    await page.getByLabel('Password').fill('alice-password');
    await page.getByRole('button', { name: 'Log in' }).click();
    // Back where the visitor was going, filter included.
    await page.waitForURL(/\/experiments\?status=Running$/);
    await page.getByRole('table', { name: 'Experiments' }).waitFor();
    const cookies = await page.context().cookies();
    assert.equal(cookies.find((c) => c.name === 'periscope_session')?.httpOnly, true);
  });

  it('names the field at fault in an invalid spec', async () => {
    await page.getByRole('link', { name: 'Create' }).click();
    await page.getByLabel('Spec (YAML or JSON)').fill('meta:\n  name: broken\n  framework: TensorFlow\nspec:\n  Worker:\n    replicas: 1\n    resources: "cpu=lots"\n    cmd: "true"\n');
    await page.getByRole('button', { name: 'Submit' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match((await alert.textContent())!, /resources/);
    await screenshot(page, '02-create-invalid');
  });

  it('creates from YAML and shows it go Running, then Succeeded, without a reload', async () => {
    await page.getByLabel('Spec (YAML or JSON)').fill(
      ['meta:', '  name: browser-run', '  framework: Custom', `  cmd: python3 ${join(work, 'train.py')} ${go}`, 'spec:', '  Worker:', '    resources: cpu=1,memory=256M', ''].join('\n'),
    );
    await page.getByRole('button', { name: 'Submit' }).click();
    await page.waitForURL(/\/experiments\/experiment-\d+-\d+/);
    experimentId = /experiment-\d+-\d+/.exec(page.url())![0];
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'browser-run');
    // Set once on this document: still there after the run ends, so nothing reloaded the page.
    await page.evaluate('window.stayed = true');
    await page.getByTestId('experiment-status').filter({ hasText: /^Running$/ }).waitFor();
    await screenshot(page, '03-experiment-running');
  });

  it('reads the logs and follows them live', async () => {
    await page.getByRole('tab', { name: 'Logs' }).or(page.getByRole('link', { name: 'Logs', exact: true })).first().click();
    const logs = page.getByRole('log', { name: 'Logs' });
    await logs.getByText('step 5 loss 0.200').waitFor();
    await logs.getByText('ERROR something on stderr').waitFor();
    await screenshot(page, '04-logs-following');
    writeFileSync(go, '');
    await logs.getByText('released by the test').waitFor();
    await page.getByTestId('experiment-status').filter({ hasText: /^Succeeded$/ }).waitFor();
    assert.equal(await page.evaluate('window.stayed'), true);
    await page.getByLabel('Search logs').fill('loss 0.5');
    await logs.getByText('step 2 loss 0.500').waitFor();
    assert.equal(await logs.getByText('step 3 loss 0.333').count(), 0);
    await screenshot(page, '05-logs-search');
  });

  it('charts the reported metric points', async () => {
    await page.getByRole('tab', { name: 'Metrics' }).or(page.getByRole('link', { name: 'Metrics', exact: true })).first().click();
    const chart = page.getByTestId('metric-chart');
    await chart.and(page.locator('[data-points="5"]')).waitFor();
    assert.equal(await chart.locator('canvas').count() > 0, true);
    await screenshot(page, '06-metrics');
  });

  it('registers the best checkpoint as a model version, which the model page shows', async () => {
    await page.getByRole('tab', { name: 'Checkpoints' }).or(page.getByRole('link', { name: 'Checkpoints', exact: true })).first().click();
    const table = page.getByRole('table', { name: 'Checkpoints' });
    await table.getByRole('button', { name: 'Register' }).first().click();
    await page.getByLabel('Model').fill('browser-model');
    await page.getByRole('button', { name: 'Register version' }).click();
    await screenshot(page, '07-checkpoints');
    const [trial] = (await api(server.base, 'GET', `/api/v1/experiment/${experimentId}/trials`)).result;
    const [checkpoint] = (await api(server.base, 'GET', `/api/v1/trials/${trial.id}/checkpoints`)).result;
    await page.getByRole('link', { name: /browser-model/ }).first().click();
    await page.waitForURL(/\/models\/browser-model/);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'browser-model');
    const uuid: string = checkpoint.uuid;
    await page.getByRole('table', { name: 'Versions' }).getByText(uuid.slice(0, 8)).first().waitFor();
    await screenshot(page, '08-model');
  });

  it('shows why a trial is pending, and cancels from the page', async () => {
    const create = (name: string, cmd: string) => api(server.base, 'POST', '/api/v1/experiment', { meta: { name, framework: 'Custom', cmd }, spec: { Worker: { resources: 'cpu=1,memory=64M' } } });
    // As admin: alice's page must still show only hers.
    const blocker = (await create('blocker', 'sleep 120')).result.experimentId as string;
    await eventually('the blocker runs', async () => (await api(server.base, 'GET', `/api/v1/experiment/${blocker}`)).result.status === 'Running' || undefined);
    await page.goto(`${server.base}/experiments`);
    const list = page.getByRole('table', { name: 'Experiments' });
    await list.getByRole('link', { name: 'browser-run' }).waitFor();
    assert.equal(await list.getByRole('link', { name: 'blocker' }).count(), 0, "alice does not see the admin's experiments");
    await screenshot(page, '09-experiments');

    // Alice's own run queues behind the admin's blocker.
    const mine = await createInPage(page, 'queued', 'true');
    // Live: the new experiment appears in the list without a reload.
    await list.getByRole('link', { name: 'queued' }).waitFor();
    await page.goto(`${server.base}/experiments/${mine}?tab=trials`);
    const reason = page.getByTestId('pending-reason');
    await reason.filter({ hasText: /Waiting for capacity/ }).waitFor();
    await screenshot(page, '10-pending');
    await api(server.base, 'POST', `/api/v1/experiment/${blocker}/cancel`);
    await page.getByTestId('experiment-status').filter({ hasText: /^Succeeded$/ }).waitFor();

    // Cancel from the page: a run of alice's own that would otherwise sleep.
    const sleeper = await createInPage(page, 'sleeper', 'sleep 120');
    await page.goto(`${server.base}/experiments/${sleeper}`);
    await page.getByTestId('experiment-status').filter({ hasText: /^Running$/ }).waitFor();
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.getByTestId('experiment-status').filter({ hasText: /^Failed$/ }).waitFor();
    assert.equal((await api(server.base, 'GET', `/api/v1/experiment/${sleeper}`)).result.status, 'Failed');
  });

  it('screens every other page', async () => {
    for (const [name, path, table] of [
      ['11-nodes', '/nodes', 'Nodes'],
      ['12-environments', '/environments', 'Environments'],
      ['13-models', '/models', 'Models'],
    ] as const) {
      await page.goto(`${server.base}${path}`);
      await page.getByRole('table', { name: table }).waitFor();
      await screenshot(page, name);
    }
    await page.goto(`${server.base}/experiments/${experimentId}?tab=trials`);
    await page.getByRole('table', { name: 'Executors' }).waitFor();
    await screenshot(page, '14-trials');
    await page.getByRole('button', { name: 'Toggle theme' }).click();
    await screenshot(page, '15-trials-other-theme');
  });

  it('returns to the login page once the session is refused (401)', async () => {
    // An admin resetting alice's password ends her sessions.
    const reset = await api(server.base, 'PATCH', '/api/v1/users/alice', { password: 'a new password' });
    assert.equal(reset.code, 200, reset.message);
    await page.getByRole('link', { name: 'Experiments' }).first().click();
    await page.waitForURL(/\/login\?next=/);
    assert.deepEqual(errors, []);
    assert.ok(existsSync(join(fileURLToPath(new URL('../../../test-artifacts/screenshots/', import.meta.url)), '14-trials.png')));
  });
});
