import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../testing/databases.js';
import { headLines, readAllLines, tailLines, timeAt } from './line-reader.js';

describe('line reader', () => {
  const dir = tempDir();
  const lines = Array.from({ length: 50_000 }, (_, i) => `line ${i} ${'x'.repeat(i % 37)}`);
  const file = join(dir, 'big');
  writeFileSync(file, lines.join('\n') + '\n');
  const unterminated = join(dir, 'partial');
  writeFileSync(unterminated, 'a\nb\nc');

  it('reads every line with its byte offset', async () => {
    const all = await readAllLines(file);
    assert.equal(all.length, lines.length);
    assert.equal(all[1]!.offset, lines[0]!.length + 1);
    assert.deepEqual((await readAllLines(unterminated)).map((l) => l.text), ['a', 'b', 'c']);
    assert.deepEqual(await readAllLines(join(dir, 'missing')), []);
  });

  it('tails across chunk boundaries from the end, with the right offsets', async () => {
    const all = await readAllLines(file);
    for (const n of [1, 100, 5000, 50_000, 60_000]) {
      assert.deepEqual(await tailLines(file, n), all.slice(-n), `tail ${n}`);
    }
    assert.deepEqual((await tailLines(unterminated, 2)).map((l) => l.text), ['b', 'c']);
    assert.deepEqual(await tailLines(file, 0), []);
  });

  it('heads without reading the whole file', async () => {
    assert.deepEqual((await headLines(file, 3)).map((l) => l.text), lines.slice(0, 3));
    assert.equal((await headLines(file, 20_000)).length, 20_000);
  });

  it('finds the time of the chunk holding an offset', () => {
    const index = { ends: [10, 20, 30], times: [100, 200, 300], fallback: 999 };
    assert.deepEqual([0, 9, 10, 25, 30, 31].map((o) => timeAt(index, o)), [100, 100, 200, 300, 999, 999]);
  });
});
