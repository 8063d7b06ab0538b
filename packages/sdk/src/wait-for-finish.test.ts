/**
 * waitForFinish and followLogs on real experiments: jobs that succeed, fail or are canceled, and parked ones
 * (autoStart: false) for deletion, timeouts and aborts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExperimentClient, Periscope, PeriscopeTimeoutError, type PodLogLine, type WaitProgress } from './index.js';
import { jobSpec, parkedSpec, startServer } from './testing/server.js';

const server = await startServer();
const client = new ExperimentClient({ host: server.master });

/** Resolves with the first progress report for which `predicate` holds. */
function progressWatcher(predicate: (p: WaitProgress) => boolean) {
  const seen: WaitProgress[] = [];
  let resolve!: (p: WaitProgress) => void;
  const reached = new Promise<WaitProgress>((r) => (resolve = r));
  return {
    seen,
    reached,
    onProgress: (p: WaitProgress) => {
      seen.push(p);
      if (predicate(p)) resolve(p);
    },
  };
}

describe('waitForFinish', () => {
  it('returns when the experiment is deleted while waiting, reporting each status it saw', async () => {
    const created = await client.createExperiment(parkedSpec('wait-deleted', { Master: 1, Worker: 1 }));
    const watcher = progressWatcher(() => true);
    const waiting = client.waitForFinish(created.experimentId, { pollingInterval: 0.02, onProgress: watcher.onProgress });
    await watcher.reached;
    await client.deleteExperiment(created.experimentId);
    const logs = await waiting;
    assert.deepEqual(logs, { experimentId: created.experimentId, logContent: [] });
    // Parked (not started), it is Accepted, or Created once prepared; then it is gone.
    const changes = watcher.seen.filter((p) => p.changed).map((p) => p.status);
    assert.equal(changes.at(-1), 'Deleted');
    assert.ok(changes.slice(0, -1).every((s) => s === 'Accepted' || s === 'Created'), changes.join(' → '));
    assert.equal(watcher.seen.at(-1)!.experiment, null);
    assert.ok(watcher.seen.every((p) => p.experimentId === created.experimentId && p.elapsedMs >= 0));
  });

  it('Periscope.experiments.wait says how it ended and keeps the last state seen', async () => {
    const periscope = new Periscope({ master: server.master });
    const created = await periscope.experiments.create(parkedSpec('wait-native'));
    const watcher = progressWatcher(() => true);
    const waiting = periscope.experiments.wait(created.experimentId, { pollIntervalMs: 20, onProgress: watcher.onProgress });
    await watcher.reached;
    await periscope.experiments.delete(created.experimentId);
    const result = await waiting;
    assert.equal(result.status, 'Deleted');
    assert.equal(result.experiment.experimentId, created.experimentId);
    assert.match(result.experiment.status, /^(Accepted|Created)$/);
  });

  it('an unknown id fails at once with NOT_FOUND rather than counting as deleted', async () => {
    await assert.rejects(client.waitForFinish('experiment-1647574374688-9999', { pollingInterval: 0.01 }), { code: 'NOT_FOUND' });
  });

  it('gives up after `timeout` seconds with PeriscopeTimeoutError and the last status', async () => {
    const created = await client.createExperiment(parkedSpec('wait-timeout'));
    await assert.rejects(client.waitForFinish(created.experimentId, { pollingInterval: 0.01, timeout: 0.05 }), (error: unknown) => {
      assert.ok(error instanceof PeriscopeTimeoutError);
      assert.equal(error.code, 'TIMEOUT');
      assert.match(error.lastStatus!, /^(Accepted|Created)$/);
      assert.match(error.message, new RegExp(`^${created.experimentId} is still ${error.lastStatus} after \\d+ s$`));
      return true;
    });
  });

  it('stops when its signal aborts', async () => {
    const created = await client.createExperiment(parkedSpec('wait-abort'));
    const controller = new AbortController();
    const watcher = progressWatcher(() => true);
    const waiting = client.waitForFinish(created.experimentId, { pollingInterval: 60, signal: controller.signal, onProgress: watcher.onProgress });
    await watcher.reached;
    controller.abort();
    await assert.rejects(waiting, { name: 'AbortError' });
  });

  it('refuses a negative polling interval, naming the option', async () => {
    await assert.rejects(client.waitForFinish('experiment-1647574374688-0001', { pollingInterval: -1 }), {
      name: 'TypeError',
      message: 'pollingInterval: -1 must be a non-negative number of seconds',
    });
  });
});

describe('waitForFinish on running experiments', () => {
  it('returns the logs once the experiment Succeeded, having reported its statuses', async () => {
    const created = await client.createExperiment(jobSpec('wait-ok', { Master: 'echo master says hi', Worker: 'echo worker $RANK' }, 'PyTorch'));
    const watcher = progressWatcher(() => false);
    const logs = await client.waitForFinish(created.experimentId, { pollingInterval: 0.02, onProgress: watcher.onProgress });
    const id = created.experimentId;
    assert.deepEqual(logs, {
      experimentId: id,
      logContent: [
        { podName: `${id}-master-0`, podLog: ['master says hi'] },
        { podName: `${id}-worker-0`, podLog: ['worker 1'] },
      ],
    });
    assert.equal(watcher.seen.at(-1)!.status, 'Succeeded');
    assert.equal(watcher.seen.at(-1)!.experiment!.status, 'Succeeded');
    assert.equal(watcher.seen.filter((p) => p.status === 'Succeeded').length, 1, 'stops at the first Succeeded');
    const [trial] = await client.periscope.experiments.trials(id);
    assert.deepEqual(trial!.executors.map((x) => [x.name, x.state, x.exitCode]), [
      [`${id}-master-0`, 'Succeeded', 0],
      [`${id}-worker-0`, 'Succeeded', 0],
    ]);
  });

  it('returns (does not poll forever, as the Python client does) when the experiment Failed', async () => {
    const periscope = new Periscope({ master: server.master });
    const created = await periscope.experiments.create(jobSpec('wait-fail', { Worker: 'echo giving up >&2; exit 3' }));
    const result = await periscope.experiments.wait(created.experimentId, { pollIntervalMs: 20 });
    assert.equal(result.status, 'Failed');
    assert.equal(result.experiment.status, 'Failed');
    assert.notEqual(result.experiment.finishedTime, null);
    assert.deepEqual(result.logs.logContent, [{ podName: `${created.experimentId}-worker-0`, podLog: ['giving up'] }]);
  });

  it('returns Failed when the experiment is canceled while running', async () => {
    const periscope = new Periscope({ master: server.master });
    const created = await periscope.experiments.create(jobSpec('wait-cancel', { Worker: 'echo started; exec sleep 600' }));
    const watcher = progressWatcher((p) => p.status === 'Running');
    const waiting = periscope.experiments.wait(created.experimentId, { pollIntervalMs: 20, onProgress: watcher.onProgress });
    await watcher.reached;
    const canceled = await periscope.experiments.cancel(created.experimentId);
    assert.equal(canceled.status, 'Failed');
    assert.equal((await waiting).status, 'Failed');
  });

  it('getLog onlyMaster keeps the Master pod of a running two-role job', async () => {
    const created = await client.createExperiment(jobSpec('only-master', { Worker: 'echo from worker', Master: 'echo from master' }, 'PyTorch', 1));
    await client.waitForFinish(created.experimentId, { pollingInterval: 0.02 });
    assert.deepEqual(await client.getLog(created.experimentId, { onlyMaster: true }), {
      experimentId: created.experimentId,
      logContent: [{ podName: `${created.experimentId}-master-0`, podLog: ['from master'] }],
    });
  });
});

describe('followLogs', () => {
  it('yields each line once, in order, while the experiment runs, and ends with its final status', async () => {
    const periscope = new Periscope({ master: server.master });
    const created = await periscope.experiments.create(jobSpec('follow-run', { Worker: 'for i in 1 2 3 4 5; do echo "step $i"; sleep 0.1; done' }));
    const follow = periscope.experiments.followLogs(created.experimentId, { pollIntervalMs: 30 });
    const lines: PodLogLine[] = [];
    let step = await follow.next();
    for (; !step.done; step = await follow.next()) lines.push(step.value);
    assert.deepEqual(step.value, { status: 'Succeeded' });
    assert.deepEqual(lines.map((l) => l.text), ['step 1', 'step 2', 'step 3', 'step 4', 'step 5']);
    assert.deepEqual(lines.map((l) => l.lineNumber), [0, 1, 2, 3, 4]);
    assert.ok(lines.every((l) => l.podName === `${created.experimentId}-worker-0`));
  });

  it('starts with only the last `tail` lines of each pod', async () => {
    const periscope = new Periscope({ master: server.master });
    const created = await periscope.experiments.create(jobSpec('follow-tail', { Master: 'seq 1 5', Worker: 'seq 11 15' }, 'PyTorch'));
    await periscope.experiments.wait(created.experimentId, { pollIntervalMs: 20 });
    const lines: PodLogLine[] = [];
    for await (const line of periscope.experiments.followLogs(created.experimentId, { tail: 2 })) lines.push(line);
    // Pods are merged in time order; within a pod the order is the log's.
    const of = (pod: string) => lines.filter((l) => l.podName === `${created.experimentId}-${pod}`).map((l) => [l.lineNumber, l.text]);
    assert.deepEqual(of('master-0'), [[3, '4'], [4, '5']]);
    assert.deepEqual(of('worker-0'), [[3, '14'], [4, '15']]);
    assert.equal(lines.length, 4);
  });

  it('ends with Deleted when the experiment is deleted', async () => {
    const periscope = new Periscope({ master: server.master });
    const created = await periscope.experiments.create(parkedSpec('follow-deleted'));
    const follow = periscope.experiments.followLogs(created.experimentId, { pollIntervalMs: 20 });
    const watcher = progressWatcher(() => true);
    // A parked experiment has no lines: the generator keeps polling until the experiment is gone.
    const ended = follow.next();
    void periscope.experiments.wait(created.experimentId, { pollIntervalMs: 20, onProgress: watcher.onProgress }).catch(() => {});
    await watcher.reached;
    await periscope.experiments.delete(created.experimentId);
    assert.deepEqual(await ended, { done: true, value: { status: 'Deleted' } });
  });
});
