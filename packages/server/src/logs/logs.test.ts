/** Logs of real executors: complete and in order at volume, tail/head/filters, and live following over SSE. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { adminHeaders, call, create, testApp, waitForStatus } from '../testing/app.js';
import { tempDir } from '../testing/databases.js';

describe('executor logs', () => {
  it('keeps all 200,000 lines of a job in order, with tail, head and stream/rank filters', async () => {
    const app = await testApp(join(tempDir(), 'db.sqlite'));
    const id = await create(app, {
      meta: { name: 'chatty', framework: 'Custom', cmd: 'seq 1 200000; echo "ERROR: done" >&2' },
      spec: { Worker: { replicas: 2 } },
    });
    assert.equal((await waitForStatus(app, id, ['Succeeded', 'Failed'])).status, 'Succeeded');
    const pods = (await call(app, 'GET', `/api/v1/experiment/logs/${id}`)).body.result.logContent;
    for (const pod of pods) {
      const stdout = pod.podLog.filter((l: string) => !l.startsWith('ERROR'));
      assert.equal(stdout.length, 200_000);
      assert.ok(stdout.every((l: string, i: number) => l === String(i + 1)), 'in order');
      assert.ok(pod.podLog.includes('ERROR: done'));
    }
    const trial = (await call(app, 'GET', `/api/v1/experiment/${id}/trials`)).body.result[0];
    const base = `/api/v1/trials/${trial.id}/logs`;
    const tail = (await call(app, 'GET', `${base}?rank=1&stream=stdout&tail=3`)).body.result;
    assert.deepEqual(tail.map((l: any) => [l.executor, l.rank, l.stream, l.text]), [
      [`${id}-worker-1`, 1, 'stdout', '199998'],
      [`${id}-worker-1`, 1, 'stdout', '199999'],
      [`${id}-worker-1`, 1, 'stdout', '200000'],
    ]);
    const errors = (await call(app, 'GET', `${base}?stream=stderr`)).body.result;
    // Merged across executors by time, so the two ranks may come in either order.
    assert.deepEqual(errors.map((l: any) => [l.rank, l.level, l.text]).sort(), [[0, 'error', 'ERROR: done'], [1, 'error', 'ERROR: done']]);
    const head = (await call(app, 'GET', `${base}?executor=${id}-worker-0&head=2`)).body.result;
    assert.deepEqual(head.map((l: any) => l.text), ['1', '2']);
    assert.match(head[0].time, /^\d{4}-\d\d-\d\dT/);
    assert.equal((await call(app, 'GET', `${base}?executor=nope`)).status, 404);
    assert.equal((await call(app, 'GET', `${base}?head=1&tail=1`)).status, 400);
    assert.equal((await call(app, 'GET', `${base}?stream=stdin`)).status, 400);
    assert.equal((await call(app, 'GET', '/api/v1/trials/999999/logs')).status, 404);
  });

  it('streams lines to a follower while the job runs, then ends the stream', async () => {
    const app = await testApp(join(tempDir(), 'db.sqlite'));
    await app.http.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(app.http.server.address() as { port: number }).port}`;
    const gate = join(tempDir(), 'gate');
    spawnSync('mkfifo', [gate]);
    const id = await create(app, {
      meta: { name: 'follow', framework: 'Custom', cmd: 'echo before; cat "$GATE" >/dev/null; echo after; echo warn >&2', envVars: { GATE: gate } },
      spec: { Worker: {} },
    });
    await waitForStatus(app, id, ['Running']);
    const trial = (await call(app, 'GET', `/api/v1/experiment/${id}/trials`)).body.result[0];
    const response = await fetch(`${base}/api/v1/trials/${trial.id}/logs?follow=true`, { headers: adminHeaders(app) });
    assert.equal(response.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const readUntil = async (marker: string) => {
      while (!text.includes(marker)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${marker}: ${text}`);
        text += decoder.decode(value, { stream: true });
      }
    };
    await readUntil('"text":"before"');
    // The job is still blocked on the gate: this line reached us while it ran.
    assert.equal((await call(app, 'GET', `/api/v1/experiment/${id}`)).body.result.status, 'Running');
    writeFileSync(gate, 'go\n');
    await readUntil('event: end');
    // Line events carry an id (the cursor past the line) and the line as data.
    const events = text.split('\n\n').filter((e) => e.startsWith('id: ')).map((e) => JSON.parse(e.split('\n').find((f) => f.startsWith('data: '))!.slice(6)));
    // Each stream is its own file: lines keep their order within a stream; 'after' and 'warn', written at the
    // same moment to two files, may reach the follower in either order.
    assert.deepEqual(events[0] && [events[0].stream, events[0].text], ['stdout', 'before']);
    assert.deepEqual(events.filter((e) => e.stream === 'stdout').map((e) => e.text), ['before', 'after']);
    assert.deepEqual(events.filter((e) => e.stream === 'stderr').map((e) => e.text), ['warn']);
    assert.equal(events.length, 3);
    assert.equal((await waitForStatus(app, id, ['Succeeded', 'Failed'])).status, 'Succeeded');
  });
});
