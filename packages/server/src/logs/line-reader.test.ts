import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../testing/databases.js';
import { headLines, linesFrom, MAX_LINE_BYTES, tailLines } from './line-reader.js';

const readAllLines = async (path: string) => (await linesFrom(path, 0, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)).lines;

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

  it('reads a page of lines from an offset, and the next page from where it stopped', async () => {
    const all = await readAllLines(file);
    const first = await linesFrom(file, 0, 1000, Number.MAX_SAFE_INTEGER);
    assert.deepEqual(first.lines, all.slice(0, 1000));
    assert.equal(first.end, false);
    assert.equal(first.next, all[1000]!.offset);
    assert.deepEqual(first.ends, all.slice(1, 1001).map((l) => l.offset));
    const second = await linesFrom(file, first.next, 1000, Number.MAX_SAFE_INTEGER);
    assert.deepEqual(second.lines, all.slice(1000, 2000));
    const last = await linesFrom(file, all.at(-2)!.offset, 1000, Number.MAX_SAFE_INTEGER);
    assert.deepEqual(last.lines, all.slice(-2));
    assert.equal(last.end, true);
    // A byte budget stops the page early (after at least one line).
    const small = await linesFrom(file, 0, 1000, 100);
    assert.ok(small.lines.length > 0 && small.lines.length < 20, String(small.lines.length));
    assert.deepEqual(small.lines, all.slice(0, small.lines.length));
  });

  it('returns a line longer than the longest it holds in pieces, with offsets that continue', async () => {
    const long = join(dir, 'long');
    writeFileSync(long, `${'y'.repeat(MAX_LINE_BYTES * 2 + 10)}\nafter\n`);
    const read = await linesFrom(long, 0, 10, Number.MAX_SAFE_INTEGER);
    assert.deepEqual(read.lines.map((l) => [l.offset, l.text.length]), [[0, MAX_LINE_BYTES], [MAX_LINE_BYTES, MAX_LINE_BYTES], [2 * MAX_LINE_BYTES, 10], [2 * MAX_LINE_BYTES + 11, 5]]);
  });
});
