/**
 * Whatever fails between Accepted and Running ends the trial and the experiment Failed within seconds, with the
 * step and the reason in the trial's message (issue 13 §2). Real faults where they can be produced (a code
 * archive never uploaded, a git server that refuses, a work dir removed or replaced by a file before the
 * start); a fault at the boundary where they cannot (a task-token issuer that throws, a database write that
 * fails), and a trial a launch left Preparing without recording why, which the reconciler settles.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { App } from '../app.js';
import { call, create, testApp, waitForStatus } from '../testing/app.js';
import { eventually, tempDir } from '../testing/databases.js';
import type { ExperimentStore } from '../experiments/store.js';
import type { TrialStore } from '../trials/store.js';
import { STALLED_LAUNCH_MESSAGE } from './launch-failure.js';

const job = (extra: object = {}) => ({ meta: { name: 'job', framework: 'Custom', cmd: 'echo ran' }, spec: { Worker: { resources: 'cpu=0.1,memory=64M' } }, ...extra });

/** The stores the orchestrator writes through (to put a fault at that boundary). */
function stores(app: App): { experiments: ExperimentStore; trials: TrialStore } {
  return (app.execution.orchestrator as unknown as { e: { o: { experiments: ExperimentStore; trials: TrialStore } } }).e.o;
}

async function trialOf(app: App, id: string): Promise<any> {
  return (await call(app, 'GET', `/api/v1/experiment/${id}/trials`)).body.result[0];
}

/** Waits (a few seconds at most) for the experiment to end Failed; answers its trial. */
async function failed(app: App, id: string): Promise<any> {
  assert.equal((await waitForStatus(app, id, ['Failed'], 10_000)).status, 'Failed');
  const trial = await trialOf(app, id);
  assert.equal(trial.state, 'Failed');
  return trial;
}

/** Creates a parked experiment (autoStart false), waits until its code is synced (Ready), and answers its id. */
async function parked(app: App): Promise<string> {
  const id = await create(app, job({ autoStart: false }));
  await eventually('the trial is Ready', async () => (await trialOf(app, id)).state === 'Ready' || undefined);
  return id;
}

describe('a launch that fails ends Failed with the step and the reason', () => {
  it('a code archive that was never uploaded', async () => {
    const app = await testApp(join(tempDir(), 'db.sqlite'));
    const id = await create(app, job({ code: { syncMode: 'upload', url: 'a'.repeat(64) } }));
    const trial = await failed(app, id);
    assert.match(trial.message, /^Code sync failed: Code archive a{64} was not uploaded/);
  });

  it('a git server that refuses the connection', async () => {
    const app = await testApp(join(tempDir(), 'db.sqlite'));
    const id = await create(app, job({ code: { syncMode: 'git', url: 'http://127.0.0.1:9/refused.git' } }));
    const trial = await failed(app, id);
    assert.match(trial.message, /^Code sync failed: git clone of http:\/\/127\.0\.0\.1:9\/refused\.git/);
  });

  it('a work dir removed between prepare and start', async () => {
    const app = await testApp(join(tempDir(), 'db.sqlite'));
    const id = await parked(app);
    const workDir = app.execution.layout.workDir(id, 1);
    rmSync(workDir, { recursive: true, force: true });
    assert.equal((await call(app, 'POST', `/api/v1/experiment/${id}/start`)).status, 200);
    const trial = await failed(app, id);
    assert.equal(trial.message, `Could not start the executors: the work dir ${workDir} does not exist (spawn /bin/sh ENOENT)`);
  });

  it('a work dir that became a file (the spawn fails)', async () => {
    const app = await testApp(join(tempDir(), 'db.sqlite'));
    const id = await parked(app);
    const workDir = app.execution.layout.workDir(id, 1);
    rmSync(workDir, { recursive: true, force: true });
    writeFileSync(workDir, 'not a directory');
    assert.equal((await call(app, 'POST', `/api/v1/experiment/${id}/start`)).status, 200);
    const trial = await failed(app, id);
    assert.match(trial.message, new RegExp(`^Could not start the executors: the work dir ${workDir} is not a directory \\(spawn .*\\)$`));
  });

  it('a task-token issuer that throws (fault at the TaskTokens boundary); capacity is freed', async () => {
    const app = await testApp(join(tempDir(), 'db.sqlite'));
    const issue = app.users.issueTaskToken.bind(app.users);
    app.users.issueTaskToken = async () => {
      throw new Error('token store unavailable');
    };
    const id = await create(app, job());
    const trial = await failed(app, id);
    assert.equal(trial.message, 'Launch failed at "issue the task token": token store unavailable');
    assert.equal((await call(app, 'GET', `/api/v1/experiment/${id}`)).body.result.status, 'Failed');
    assert.deepEqual(app.execution.scheduler.usage().placed, 0, 'the placement is released');
    app.users.issueTaskToken = issue;
    assert.equal((await waitForStatus(app, await create(app, job()), ['Succeeded'], 10_000)).status, 'Succeeded');
  });

  it('a database write that fails while marking the trial Preparing, and again while recording the failure', async () => {
    const app = await testApp(join(tempDir(), 'db.sqlite'));
    const { experiments, trials } = stores(app);
    const transition = experiments.transition.bind(experiments);
    experiments.transition = async (id, change) => {
      if (change.status === 'Preparing') throw new Error('connection terminated unexpectedly');
      return transition(id, change);
    };
    // The database stays away for the first tries of recording the failure too: they are retried.
    const update = trials.update.bind(trials);
    let refusals = 3;
    trials.update = async (id, change) => {
      if (change.state === 'Failed' && refusals-- > 0) throw new Error('connection refused');
      return update(id, change);
    };
    const id = await create(app, job());
    const trial = await failed(app, id);
    assert.equal(trial.message, 'Launch failed at "record the trial as Preparing": connection terminated unexpectedly');
    assert.ok(refusals < 0, 'the failure was written through the refusals');
  });

  it('a trial left Preparing with no launch under way is settled Failed by the reconciler', async () => {
    const app = await testApp(join(tempDir(), 'db.sqlite'));
    const id = await parked(app);
    const { trials } = stores(app);
    const before = await trialOf(app, id);
    // What a launch that died without recording anything leaves (its writes lost, nothing running).
    await trials.update(before.id, { state: 'Preparing' });
    await app.execution.reconciler.pass();
    const trial = await failed(app, id);
    assert.equal(trial.message, STALLED_LAUNCH_MESSAGE);
  });
});
