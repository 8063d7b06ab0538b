import assert from 'node:assert/strict';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../testing/databases.js';
import { chunkTimes, lastIndexed } from './chunk-index.js';
import { DataLayout, indexDir, indexPath } from './layout.js';

/** An executor's log dir whose stdout index holds `text`, its log file's mtime set to FALLBACK. */
function withIndex(text: string): string {
  const dir = new DataLayout(tempDir()).executorLogs('experiment-1', 'experiment-1-worker-0');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'stdout'), '');
  utimesSync(join(dir, 'stdout'), FALLBACK / 1000, FALLBACK / 1000);
  mkdirSync(indexDir(dir), { recursive: true });
  writeFileSync(indexPath(dir, 'stdout'), text);
  return dir;
}

const FALLBACK = 1_700_000_000_000;

/** What every reader of an index answered before it was searched: parse it all, take the first end past the offset. */
function reference(text: string, offset: number): number {
  let last = -1;
  for (const line of text.split('\n')) {
    const m = /^(\d{1,15}) (\d{1,15})$/.exec(line);
    if (!m || Number(m[1]) < last) continue;
    last = Number(m[1]);
    if (last > offset) return Number(m[2]);
  }
  return FALLBACK;
}

/** A deterministic pseudo-random sequence, so a failure reproduces. */
function random(seed: number): () => number {
  let state = seed;
  return () => ((state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
}

describe('chunk index', () => {
  it('answers what reading the whole index answered, on large indexes with garbage between the entries', async () => {
    for (const seed of [1, 2, 3]) {
      const next = random(seed);
      const lines: string[] = [];
      let end = 0;
      for (let i = 0; i < 20_000; i++) {
        end += 1 + Math.floor(next() * 50);
        lines.push(`${end} ${FALLBACK + i}`);
        if (next() < 0.01) lines.push(next() < 0.5 ? 'nonsense' : `${'z'.repeat(300)} 5`);
      }
      const text = `${lines.join('\n')}\n`;
      const dir = withIndex(text);
      const offsets = Array.from({ length: 300 }, () => Math.floor(next() * (end + 100)));
      const ascending = [...offsets].sort((a, b) => a - b);
      assert.deepEqual(await chunkTimes(dir, 'stdout', offsets), offsets.map((o) => reference(text, o)), `seed ${seed}, any order`);
      assert.deepEqual(await chunkTimes(dir, 'stdout', ascending), ascending.map((o) => reference(text, o)), `seed ${seed}, ascending`);
    }
  });

  it('gets past a garbage line of megabytes in the middle of an index', async () => {
    const before = Array.from({ length: 5_000 }, (_, i) => `${(i + 1) * 3} ${i}`);
    const after = Array.from({ length: 5_000 }, (_, i) => `${15_000 + (i + 1) * 3} ${5_000 + i}`);
    const text = `${before.join('\n')}\n${'g'.repeat(8 * 1024 * 1024)}\n${after.join('\n')}\n`;
    const dir = withIndex(text);
    const offsets = [0, 7_000, 14_999, 15_000, 22_000, 29_999, 30_000];
    assert.deepEqual(await chunkTimes(dir, 'stdout', offsets), offsets.map((o) => reference(text, o)));
  });

  it('times each line of a run of consecutive lines, where a slow writer left one entry per line', async () => {
    const text = Array.from({ length: 100_000 }, (_, i) => `${(i + 1) * 7} ${i}\n`).join('');
    const dir = withIndex(text);
    const offsets = Array.from({ length: 1000 }, (_, i) => 50_000 * 7 + i * 7);
    assert.deepEqual(await chunkTimes(dir, 'stdout', offsets), offsets.map((_, i) => 50_000 + i));
  });

  it('steps over entries going backwards, counts an unterminated last entry, and falls back past the end', async () => {
    const dir = withIndex('10 100\n5 999\n20 200\n30 300');
    assert.deepEqual(await chunkTimes(dir, 'stdout', [0, 9, 10, 19, 25, 30, 31]), [100, 100, 200, 200, 300, FALLBACK, FALLBACK]);
  });

  it('gives every line the log file time when the index is missing, empty or not a file', async () => {
    const empty = withIndex('');
    assert.deepEqual(await chunkTimes(empty, 'stdout', [0, 5]), [FALLBACK, FALLBACK]);
    const garbage = withIndex('\u0000'.repeat(100_000));
    assert.deepEqual(await chunkTimes(garbage, 'stdout', [0]), [FALLBACK]);
    const dir = new DataLayout(tempDir()).executorLogs('experiment-2', 'experiment-2-worker-0');
    mkdirSync(indexPath(dir, 'stdout'), { recursive: true }); // a directory where the index should be
    assert.deepEqual(await chunkTimes(dir, 'stdout', [0]).then((t) => t.length), 1);
  });

  it('finds where indexing resumes from the end, past garbage, and whether the index ends mid-line', async () => {
    const cases: [string, { end: number; unterminated: boolean }][] = [
      ['', { end: 0, unterminated: false }],
      ['2 1000\n4 2000\n', { end: 4, unterminated: false }],
      ['2 1000\nnonsense\n4 2000\n\u0000\u0000garbage', { end: 4, unterminated: true }],
      [`2 1000\n${'x'.repeat(200_000)}\n`, { end: 2, unterminated: false }],
      [`${Array.from({ length: 50_000 }, (_, i) => `${i + 1} ${i}`).join('\n')}\n`, { end: 50_000, unterminated: false }],
      ['garbage only', { end: 0, unterminated: true }],
    ];
    for (const [text, expected] of cases) {
      const handle = await open(indexPath(withIndex(text), 'stdout'));
      try {
        assert.deepEqual(await lastIndexed(handle), expected, JSON.stringify(text.slice(0, 40)));
      } finally {
        await handle.close();
      }
    }
  });
});
