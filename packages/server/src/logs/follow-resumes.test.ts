/**
 * Following a trial's log over Server-Sent Events, on real jobs: every line event has an id that resumes right
 * after it (Last-Event-ID or after=), a line still being written is sent whole, an idle stream gets heartbeat
 * comments, a bad cursor is a JSON 400 before any stream starts, and a follower that goes away leaves nothing
 * listening behind.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { App } from '../app.js';
import { adminHeaders, call, create, testApp, waitForStatus } from '../testing/app.js';
import { tempDir } from '../testing/databases.js';
import { events } from '../testing/event-stream.js';

/** Gated job: it prints `lines`, then whatever `during` prints, waits for its gate to open, then prints `rest`. */
async function gatedJob(app: App, during: string, rest: string): Promise<{ id: string; trialId: number; open: () => void }> {
  const gate = join(tempDir(), 'gate');
  spawnSync('mkfifo', [gate]);
  const id = await create(app, {
    meta: { name: 'follow', framework: 'Custom', cmd: `${during}; cat "$GATE" >/dev/null; ${rest}`, envVars: { GATE: gate } },
    spec: { Worker: {} },
  });
  await waitForStatus(app, id, ['Running']);
  const trialId = (await call(app, 'GET', `/api/v1/experiment/${id}/trials`)).body.result[0].id;
  return { id, trialId, open: () => writeFileSync(gate, 'go\n') };
}

/** A listening app (testApp closes it after the test) with a quick heartbeat, to be seen. */
async function listening(options: { followCheckMs?: number } = {}) {
  const app = await testApp(join(tempDir(), 'db.sqlite'), { sseHeartbeatMs: 100, ...options });
  await app.http.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.http.server.address() as { port: number }).port}`;
  const follow = (trialId: number, query = '', headers: Record<string, string> = {}, signal?: AbortSignal) =>
    fetch(`${base}/api/v1/trials/${trialId}/logs?follow=true${query}`, { headers: { ...adminHeaders(app), ...headers }, ...(signal && { signal }) });
  return { app, base, follow };
}

describe('following a trial log', () => {
  it('resumes after the last event id it was given, by Last-Event-ID or after=: nothing missed, nothing twice', async () => {
    const { app, base, follow } = await listening();
    const job = await gatedJob(app, 'seq 1 3000', 'seq 3001 5000');
    const first = await follow(job.trialId);
    assert.equal(first.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    const seen: string[] = [];
    let lastId = '';
    for await (const e of events(first)) {
      if (e.event !== 'message') continue;
      assert.notEqual(e.id, '', 'every line event has an id');
      seen.push(JSON.parse(e.data).text);
      lastId = e.id;
      if (seen.length === 1200) break;
    }
    // A second follower takes over from the 1200th line with after=, a third from it with Last-Event-ID.
    const byHeader = await follow(job.trialId, '', { 'last-event-id': lastId });
    const byQuery = await follow(job.trialId, `&after=${encodeURIComponent(lastId)}`);
    job.open();
    const rest = async (response: Response) => {
      const texts: string[] = [];
      for await (const e of events(response)) {
        if (e.event === 'end') return texts;
        if (e.event === 'message') texts.push(JSON.parse(e.data).text);
      }
      throw new Error('the stream ended without its end event');
    };
    const [viaHeader, viaQuery] = await Promise.all([rest(byHeader), rest(byQuery)]);
    const all = Array.from({ length: 5000 }, (_, i) => String(i + 1));
    assert.deepEqual([...seen, ...viaHeader], all);
    assert.deepEqual([...seen, ...viaQuery], all);
    assert.equal((await waitForStatus(app, job.id, ['Succeeded', 'Failed'])).status, 'Succeeded');
  });

  it('sends a line still being written once it is whole, and heartbeat comments while nothing is written', async () => {
    const { app, base, follow } = await listening();
    const job = await gatedJob(app, "printf 'first\\nhalf'", "printf ' and the rest\\n'");
    const texts: string[] = [];
    let heartbeats = 0;
    const stream = events(await follow(job.trialId));
    for await (const e of stream) {
      if (e.event === 'message') texts.push(JSON.parse(e.data).text);
      // The job is blocked on its gate with half a line written: the stream stays open, beating.
      if (e.event === 'comment' && ++heartbeats === 3) break;
    }
    assert.deepEqual(texts, ['first'], 'the unfinished line is not sent in pieces');
    const resumed = events(await follow(job.trialId, '&tail=1'));
    job.open();
    const after: string[] = [];
    for await (const e of resumed) {
      if (e.event === 'end') break;
      if (e.event === 'message') after.push(JSON.parse(e.data).text);
    }
    assert.deepEqual(after, ['first', 'half and the rest']);
  });

  it('refuses a cursor it never gave, and filters naming nothing, as JSON errors before any stream starts', async () => {
    const { app, base, follow } = await listening();
    const job = await gatedJob(app, 'echo one', 'true');
    const bad = await follow(job.trialId, '', { 'last-event-id': 'not-a-cursor' });
    assert.equal(bad.status, 400);
    assert.match(bad.headers.get('content-type') ?? '', /^application\/json/);
    assert.match(((await bad.json()) as { message: string }).message, /Last-Event-ID: "not-a-cursor" is not an event id/);
    const withTail = await follow(job.trialId, '&tail=3', { 'last-event-id': 'eyJ9' });
    assert.equal(withTail.status, 400);
    const noExecutor = await follow(job.trialId, '&executor=nobody');
    assert.equal(noExecutor.status, 404);
    assert.match(((await noExecutor.json()) as { message: string }).message, /no executor named "nobody"/);
    assert.equal((await follow(987654)).status, 404);
    // Accept: text/event-stream without follow is still a page of JSON.
    const page = await fetch(`${base}/api/v1/trials/${job.trialId}/logs`, { headers: { ...adminHeaders(app), accept: 'text/event-stream' } });
    assert.match(page.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(((await page.json()) as { result: Array<{ text: string }> }).result.map((l: { text: string }) => l.text), ['one']);
    job.open();
    await waitForStatus(app, job.id, ['Succeeded', 'Failed']);
  });

  it('ends when its trial finishes, told by the trial ending rather than by its next check', { timeout: 60_000 }, async () => {
    // Checks an hour apart: only the trial's end, as the engine tells it, can end this follow in time.
    const { app, follow } = await listening({ followCheckMs: 3_600_000 });
    const job = await gatedJob(app, 'echo before', 'echo after');
    const response = await follow(job.trialId);
    const seen: string[] = [];
    let ended = false;
    for await (const e of events(response)) {
      if (e.event === 'message') {
        seen.push(JSON.parse(e.data).text);
        if (seen.length === 1) job.open();
      }
      if (e.event === 'end') ended = true;
    }
    assert.deepEqual(seen, ['before', 'after']);
    assert.ok(ended, 'the stream ended with event: end');
    assert.equal((await call(app, 'GET', `/api/v1/experiment/${job.id}`)).body.result.status, 'Succeeded');
  });

  it('stops following for a follower that went away while nothing was written', async () => {
    const { app, base, follow } = await listening();
    const job = await gatedJob(app, 'echo alone', 'true');
    const logs = app.execution.logs;
    const controller = new AbortController();
    const response = await follow(job.trialId, '', {}, controller.signal);
    for await (const e of events(response)) if (e.event === 'message') break;
    assert.equal(logs.followers, 1);
    controller.abort();
    // The job still runs, blocked, and writes nothing more: only the disconnect can end the follow.
    const deadline = Date.now() + 10_000;
    while (logs.followers > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(logs.followers, 0);
    assert.equal((await call(app, 'GET', `/api/v1/experiment/${job.id}`)).body.result.status, 'Running');
    job.open();
    await waitForStatus(app, job.id, ['Succeeded', 'Failed']);
  });
});
