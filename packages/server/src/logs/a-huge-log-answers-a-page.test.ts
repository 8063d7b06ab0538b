/**
 * A log far larger than any answer should hold (280 MB, 2.8 million lines) is answered a page at a time: a
 * plain GET of a trial's logs gets the first DEFAULT_PAGE_LINES lines and a cursor, the cursor gets the next
 * page, and Submarine's podLog is its last lines (at most POD_LOG_LINES) — never a 500 ("Invalid string length"), never
 * the whole file in memory.
 */
import assert from 'node:assert/strict';
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { call, create, testApp, waitForStatus } from '../testing/app.js';
import { tempDir } from '../testing/databases.js';
import { DataLayout } from './layout.js';
import { DEFAULT_PAGE_LINES, POD_LOG_LINES } from './service.js';

const LINE_BYTES = 100;
const LINES = 2_800_000;

/** Line i of the big log: its number, padded to LINE_BYTES with the newline. */
function line(i: number): string {
  const head = `line ${String(i).padStart(8, '0')} `;
  return head + 'x'.repeat(LINE_BYTES - 1 - head.length);
}

function writeBigLog(path: string): void {
  const fd = openSync(path, 'a');
  try {
    const perBlock = 10_000;
    for (let start = 0; start < LINES; start += perBlock) {
      let block = '';
      for (let i = start; i < Math.min(LINES, start + perBlock); i++) block += `${line(i)}\n`;
      writeSync(fd, block);
    }
  } finally {
    closeSync(fd);
  }
}

describe('a huge log', () => {
  it('answers a plain read a page at a time with a cursor, and podLog its last lines', async () => {
    const dataDir = tempDir();
    const app = await testApp(join(tempDir(), 'db.sqlite'), { dataDir });
    const id = await create(app, { meta: { name: 'big-log', framework: 'Custom', cmd: 'true' }, spec: { Worker: { replicas: 1 } } });
    assert.equal((await waitForStatus(app, id, ['Succeeded', 'Failed'])).status, 'Succeeded');
    const trial = (await call(app, 'GET', `/api/v1/experiment/${id}/trials`)).body.result[0];
    const executor = trial.executors[0].name as string;
    // Written after the run, as a log that grew while nobody watched.
    writeBigLog(join(new DataLayout(dataDir).executorLogs(id, executor), 'stdout'));

    const first = await call(app, 'GET', `/api/v1/trials/${trial.id}/logs`);
    assert.equal(first.status, 200, first.body.message);
    assert.equal(first.body.result.length, DEFAULT_PAGE_LINES);
    assert.deepEqual([first.body.result[0].text, first.body.result.at(-1).text], [line(0), line(DEFAULT_PAGE_LINES - 1)]);
    const cursor = first.body.attributes.nextCursor;
    assert.equal(typeof cursor, 'string');

    const second = await call(app, 'GET', `/api/v1/trials/${trial.id}/logs?after=${cursor}&limit=5`);
    assert.deepEqual(
      second.body.result.map((l: any) => l.text),
      [0, 1, 2, 3, 4].map((i) => line(DEFAULT_PAGE_LINES + i)),
    );

    const bad = await call(app, 'GET', `/api/v1/trials/${trial.id}/logs?after=nonsense`);
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /^after: "nonsense" is not a cursor this server gave/);
    assert.equal((await call(app, 'GET', `/api/v1/trials/${trial.id}/logs?tail=2&limit=5`)).status, 400);

    // head and tail are bounded like a page: the whole log as one answer was 1 GB of server memory.
    for (const query of ['tail=100001', 'head=2800000']) {
      const tooMany = await call(app, 'GET', `/api/v1/trials/${trial.id}/logs?${query}`);
      assert.equal(tooMany.status, 400, query);
      assert.match(tooMany.body.message, /(head|tail).*100000/, tooMany.body.message);
    }
    assert.equal((await call(app, 'GET', `/api/v1/trials/${trial.id}/logs?tail=100000`)).body.result.length, 100_000);
    const tail = await call(app, 'GET', `/api/v1/trials/${trial.id}/logs?tail=2`);
    assert.deepEqual(tail.body.result.map((l: any) => l.text), [line(LINES - 2), line(LINES - 1)]);

    const pods = await call(app, 'GET', `/api/v1/experiment/logs/${id}`);
    assert.equal(pods.status, 200, pods.body.message);
    const podLog: string[] = pods.body.result.logContent[0].podLog;
    // The last lines, as many as fit the cap (POD_LOG_LINES lines, and about 8 MiB of each stream).
    assert.ok(podLog.length > 80_000 && podLog.length <= POD_LOG_LINES, String(podLog.length));
    assert.deepEqual([podLog[0], podLog.at(-1)], [line(LINES - podLog.length), line(LINES - 1)]);
  });

  it('pages through a small log to its end, every line once and in order, then answers no cursor', async () => {
    const app = await testApp(join(tempDir(), 'db.sqlite'));
    const id = await create(app, { meta: { name: 'paged', framework: 'Custom', cmd: 'seq 1 2500; seq 1 7 >&2' }, spec: { Worker: { replicas: 2 } } });
    assert.equal((await waitForStatus(app, id, ['Succeeded', 'Failed'])).status, 'Succeeded');
    const trial = (await call(app, 'GET', `/api/v1/experiment/${id}/trials`)).body.result[0];
    const seen: any[] = [];
    let after: string | undefined;
    let pages = 0;
    do {
      const page = await call(app, 'GET', `/api/v1/trials/${trial.id}/logs?limit=300${after ? `&after=${after}` : ''}`);
      assert.equal(page.status, 200, page.body.message);
      assert.ok(page.body.result.length <= 300);
      seen.push(...page.body.result);
      after = page.body.attributes.nextCursor;
      pages++;
    } while (after !== undefined && pages < 100);
    assert.equal(seen.length, 2 * (2500 + 7));
    for (const rank of [0, 1]) {
      assert.deepEqual(seen.filter((l) => l.rank === rank && l.stream === 'stdout').map((l) => l.text), Array.from({ length: 2500 }, (_, i) => String(i + 1)));
      assert.deepEqual(seen.filter((l) => l.rank === rank && l.stream === 'stderr').map((l) => l.text), ['1', '2', '3', '4', '5', '6', '7']);
    }
    const all = (await call(app, 'GET', `/api/v1/trials/${trial.id}/logs?limit=100000`)).body;
    assert.deepEqual(seen.map((l) => `${l.rank}/${l.stream}/${l.offset}`), all.result.map((l: any) => `${l.rank}/${l.stream}/${l.offset}`), 'pages join up in the order of one read');
    assert.equal(all.attributes.nextCursor, undefined);
  });
});
