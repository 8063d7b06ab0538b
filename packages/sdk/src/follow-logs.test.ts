/**
 * followLogs over the server's log stream (Server-Sent Events) on real jobs: lines while the job runs, a
 * stream cut mid-way, restarts, tail and onlyMaster, abort, and the polling fallback for a server without
 * the stream. Jobs wait on FIFOs, so "while it runs" is a fact, not a race.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Periscope, type PodLogLine } from './index.js';
import { flakyProxy } from './testing/flaky-proxy.js';
import { eventually, fifo, jobSpec, startServer, tempDir } from './testing/server.js';

const server = await startServer();
const direct = new Periscope({ master: server.master });

/** Lines until the generator ends, and how it ended. */
async function drain(follow: AsyncGenerator<PodLogLine, { status: string }>, lines: PodLogLine[] = []) {
  let step = await follow.next();
  for (; !step.done; step = await follow.next()) lines.push(step.value);
  return { lines, end: step.value };
}

const texts = (lines: PodLogLine[]) => lines.map((l) => l.text);
const SSE = /^GET \/api\/v1\/trials\/\d+\/logs\?follow=true/;
const POLL = /^GET \/api\/v1\/experiment\/logs\//;

describe('followLogs over the log stream', () => {
  it('yields a line while the job still runs, then the rest, and ends with the final status', async () => {
    const gate = fifo();
    const proxy = await flakyProxy(server.master, []);
    const periscope = new Periscope({ master: proxy.master });
    const { experimentId: id } = await periscope.experiments.create(jobSpec('sse-live', { Worker: `echo first; cat '${gate.path}' > /dev/null; echo second; echo third >&2` }));
    const follow = periscope.experiments.followLogs(id);
    const first = await follow.next();
    assert.deepEqual(first.value, { podName: `${id}-worker-0`, lineNumber: 0, text: 'first' });
    assert.equal((await direct.experiments.get(id)).status, 'Running', 'the job is blocked on its FIFO');
    await gate.open();
    const { lines, end } = await drain(follow);
    // stdout and stderr are separate pipes: which of the two arrives first is not fixed.
    assert.deepEqual(texts(lines).sort(), ['second', 'third']);
    assert.deepEqual(lines.map((l) => l.lineNumber), [1, 2]);
    assert.deepEqual(end, { status: 'Succeeded' });
    assert.equal(proxy.received.filter((r) => SSE.test(r)).length, 1, 'one stream');
    assert.equal(proxy.received.filter((r) => POLL.test(r)).length, 0, 'no polling of the logs route');
  });

  it('reopens a stream cut mid-way and yields each line once', async () => {
    const gate = fifo();
    const { experimentId: id } = await direct.experiments.create(jobSpec('sse-cut', { Worker: `echo one; echo two; cat '${gate.path}' > /dev/null; echo three` }));
    const { trial } = await eventually('both lines written', async () => {
      const [t] = await direct.experiments.trials(id);
      const logs = t && (await direct.experiments.logs(id));
      return t && logs?.logContent[0]?.podLog.length === 2 && { trial: t };
    });
    // The first stream carries the backlog ("one", "two") and is then cut; the second resumes after "two".
    let streams = 0;
    const proxy = await flakyProxy(server.master, ({ url }) => (url.startsWith(`/api/v1/trials/${trial.id}/logs?follow=true`) && streams++ === 0 ? 'cut' : 'pass'));
    const follow = new Periscope({ master: proxy.master, retryDelayMs: 1 }).experiments.followLogs(id);
    const lines: PodLogLine[] = [(await follow.next()).value as PodLogLine, (await follow.next()).value as PodLogLine];
    const reopened = eventually('the stream to be reopened', async () => streams >= 2);
    const next = follow.next();
    await reopened;
    await gate.open();
    const third = await next;
    const rest = await drain(follow, [...lines, third.value as PodLogLine]);
    assert.deepEqual(rest.lines.map((l) => [l.lineNumber, l.text]), [[0, 'one'], [1, 'two'], [2, 'three']]);
    assert.deepEqual(rest.end, { status: 'Succeeded' });
    const opened = proxy.received.filter((r) => SSE.test(r));
    assert.equal(opened.length, 2);
    // The second stream resumes after the last line received rather than replaying the log.
    assert.doesNotMatch(opened[0]!, /[?&]after=/);
    assert.match(opened[1]!, /[?&]after=[\w%-]+/);
  });

  it('follows a job through its restart: the lines of both attempts, each once', async () => {
    const marker = join(tempDir(), 'tried');
    const spec = { ...jobSpec('sse-restart', { Worker: `if [ -e '${marker}' ]; then echo second try; else touch '${marker}'; echo first try; exit 1; fi` }), maxRestarts: 1 };
    const { experimentId: id } = await direct.experiments.create(spec);
    const { lines, end } = await drain(direct.experiments.followLogs(id));
    assert.deepEqual(lines, [
      { podName: `${id}-worker-0`, lineNumber: 0, text: 'first try' },
      { podName: `${id}-worker-0`, lineNumber: 1, text: 'second try' },
    ]);
    assert.deepEqual(end, { status: 'Succeeded' });
  });

  it('tail starts with the last lines of each pod (line numbers kept), onlyMaster keeps the master pod', async () => {
    const [masterGate, workerGate] = [fifo('master'), fifo('worker')];
    const { experimentId: id } = await direct.experiments.create(
      jobSpec('sse-tail', { Master: `seq 1 5; cat '${masterGate.path}' > /dev/null; echo m-after`, Worker: `seq 11 15; cat '${workerGate.path}' > /dev/null; echo w-after` }, 'PyTorch'),
    );
    await eventually('ten lines written', async () => (await direct.experiments.logs(id)).logContent.flatMap((p) => p.podLog).length === 10);
    const all = direct.experiments.followLogs(id, { tail: 2 });
    const masterOnly = direct.experiments.followLogs(id, { tail: 1, onlyMaster: true });
    const start: PodLogLine[] = [];
    for (let i = 0; i < 4; i++) start.push((await all.next()).value as PodLogLine);
    const masterStart = (await masterOnly.next()).value as PodLogLine;
    const byPod = (lines: PodLogLine[]) => lines.map((l) => [l.podName.slice(id.length + 1), l.lineNumber, l.text]).sort();
    assert.deepEqual(byPod(start), [['master-0', 3, '4'], ['master-0', 4, '5'], ['worker-0', 3, '14'], ['worker-0', 4, '15']]);
    assert.deepEqual(byPod([masterStart]), [['master-0', 4, '5']]);
    await masterGate.open();
    await workerGate.open();
    const rest = await drain(all);
    assert.deepEqual(byPod(rest.lines), [['master-0', 5, 'm-after'], ['worker-0', 5, 'w-after']]);
    assert.deepEqual(texts((await drain(masterOnly)).lines), ['m-after']);
    assert.equal(rest.end.status, 'Succeeded');

    const none = await drain(direct.experiments.followLogs(id, { tail: 0 }));
    assert.deepEqual(none, { lines: [], end: { status: 'Succeeded' } }, 'tail 0: nothing that was there');
  });

  it('stops when its signal aborts, while the stream waits for lines', async () => {
    const gate = fifo();
    const { experimentId: id } = await direct.experiments.create(jobSpec('sse-abort', { Worker: `echo waiting; cat '${gate.path}' > /dev/null` }));
    const controller = new AbortController();
    const follow = direct.experiments.followLogs(id, { signal: controller.signal });
    assert.equal(((await follow.next()).value as PodLogLine).text, 'waiting');
    const pending = follow.next();
    controller.abort();
    await assert.rejects(pending, { name: 'AbortError' });
    await gate.open();
    assert.equal((await direct.experiments.wait(id, { pollIntervalMs: 20 })).status, 'Succeeded');
  });

  it('an unknown id is NOT_FOUND at once', async () => {
    await assert.rejects(direct.experiments.followLogs('experiment-1647574374688-9999').next(), { code: 'NOT_FOUND' });
  });
});

describe('followLogs on a server without the log stream (Submarine)', () => {
  it('polls the logs route instead, each line once', async () => {
    const gate = fifo();
    const proxy = await flakyProxy(server.master, ({ url }) => (url.includes('/trials') ? '404' : 'pass'));
    const periscope = new Periscope({ master: proxy.master });
    const { experimentId: id } = await direct.experiments.create(jobSpec('polled', { Worker: `echo first; cat '${gate.path}' > /dev/null; echo second` }));
    const follow = periscope.experiments.followLogs(id, { pollIntervalMs: 20 });
    assert.deepEqual((await follow.next()).value, { podName: `${id}-worker-0`, lineNumber: 0, text: 'first' });
    await gate.open();
    const { lines, end } = await drain(follow);
    assert.deepEqual(texts(lines), ['second']);
    assert.deepEqual(end, { status: 'Succeeded' });
    assert.ok(proxy.received.some((r) => POLL.test(r)), 'polled the logs route');
    assert.equal(proxy.received.filter((r) => SSE.test(r)).length, 0);
  });
});
