/**
 * The tailer with log files and indexes that an executor (or a read-only disk) broke: no rejection escapes,
 * lines still reach followers, the damage is reported once against the executor, and readers still answer.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually, tempDir } from '../testing/databases.js';
import { DataLayout, indexDir, indexPath, legacyIndexPath, type Stream } from './layout.js';
import { chunkTimes } from './chunk-index.js';
import { LogTailer, type LogDamage } from './tailer.js';

const rejections: unknown[] = [];
const recordRejection = (reason: unknown) => rejections.push(reason);
before(() => process.on('unhandledRejection', recordRejection));
after(() => process.off('unhandledRejection', recordRejection));

/** The end offsets of an index's well-formed entries, read from the file itself. */
function indexedEnds(dir: string): number[] {
  return readFileSync(indexPath(dir, 'stdout'), 'latin1').split('\n').flatMap((line) => /^(\d+) \d+$/.exec(line)?.[1] ?? []).map(Number);
}

/** A tailer that records what it delivers and what it reports, quietly. */
function tailer() {
  const warnings: object[] = [];
  const t = new LogTailer({ log: { warn: (details) => warnings.push(details) } });
  after(() => t.close());
  const lines: Record<Stream, string[]> = { stdout: [], stderr: [] };
  const damaged: LogDamage[] = [];
  t.on('lines', (chunk) => lines[chunk.stream].push(...chunk.lines.map((l) => l.text)));
  t.on('damaged', (d) => damaged.push(d));
  return { t, lines, damaged, warnings };
}

/** An executor's log dir where the server puts it: <dataDir>/logs/<experiment>/<executor>. */
function executorDir(): string {
  const dir = new DataLayout(tempDir()).executorLogs('experiment-1', 'experiment-1-worker-0');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'stdout'), '');
  writeFileSync(join(dir, 'stderr'), '');
  return dir;
}

describe('the log tailer with damaged files', () => {
  it('keeps delivering lines when the index location cannot be created (its parent is a regular file)', async () => {
    const dir = executorDir();
    const blocker = dirname(dirname(indexDir(dir)));
    writeFileSync(blocker, 'not a directory');
    const { t, lines, damaged, warnings } = tailer();
    await t.watch('e', dir);
    appendFileSync(join(dir, 'stdout'), 'one\ntwo\n');
    await eventually('the lines to be delivered', () => lines.stdout.length === 2);
    appendFileSync(join(dir, 'stdout'), 'three\n');
    await t.finish('e');
    assert.deepEqual(lines.stdout, ['one', 'two', 'three']);
    assert.deepEqual(damaged.map((d) => [d.executor, d.stream]), [['e', 'stdout'], ['e', 'stderr']], 'reported once per stream');
    assert.match(damaged[0]!.reason, /index dir .*ENOTDIR|EEXIST/);
    assert.equal(warnings.length, 2);
    assert.equal(readFileSync(blocker, 'utf8'), 'not a directory');
    assert.deepEqual(rejections, []);
  });

  it('keeps delivering lines with a directory in place of the index file, and across a restart of the tailer', async () => {
    const dir = executorDir();
    mkdirSync(indexPath(dir, 'stdout'), { recursive: true });
    const first = tailer();
    await first.t.watch('e', dir);
    appendFileSync(join(dir, 'stdout'), 'boom\n');
    await eventually('the line to be delivered', () => first.lines.stdout.includes('boom'));
    await eventually('the damage to be reported', () => first.damaged.length === 1);
    assert.equal(first.damaged[0]!.stream, 'stdout');
    assert.match(first.damaged[0]!.reason, /chunk index .*stdout\.idx: (EISDIR|ENOTFILE)/);
    first.t.close();

    // A restarted server meets the same directory while recovering.
    const second = tailer();
    await second.t.watch('e', dir);
    appendFileSync(join(dir, 'stdout'), 'after\n');
    await second.t.finish('e');
    assert.ok(second.lines.stdout.includes('after'));
    assert.equal(second.damaged.length, 1);
    assert.deepEqual(rejections, []);
  });

  it('does not follow a symlink in place of the index, nor block on a FIFO or a directory in place of a log file', async () => {
    const dir = executorDir();
    const victim = join(tempDir(), 'victim');
    writeFileSync(victim, 'precious\n');
    mkdirSync(indexDir(dir), { recursive: true });
    symlinkSync(victim, indexPath(dir, 'stdout'));
    const { t, lines, damaged } = tailer();
    await t.watch('e', dir);
    appendFileSync(join(dir, 'stdout'), 'x\n');
    await eventually('the line to be delivered', () => lines.stdout.length === 1);
    assert.equal(readFileSync(victim, 'utf8'), 'precious\n', 'the symlink target is untouched');

    spawnSync('rm', ['-f', join(dir, 'stderr')]);
    spawnSync('mkfifo', [join(dir, 'stderr')]);
    appendFileSync(join(dir, 'stdout'), 'y\n');
    await eventually('the next line to be delivered', () => lines.stdout.length === 2);
    await t.finish('e'); // would hang on a blocking open of the FIFO
    assert.deepEqual(damaged.map((d) => d.stream).sort(), ['stderr', 'stdout']);
    assert.deepEqual(rejections, []);
  });

  it('resumes after the last well-formed entry of an index with garbage in it, and readers skip the garbage', async () => {
    const dir = executorDir();
    writeFileSync(join(dir, 'stdout'), 'a\nb\n');
    mkdirSync(indexDir(dir), { recursive: true });
    writeFileSync(indexPath(dir, 'stdout'), '2 1000\nnonsense\n4 2000\n\u0000\u0000garbage');
    const { t, lines } = tailer();
    await t.watch('e', dir);
    appendFileSync(join(dir, 'stdout'), 'c\n');
    await eventually('the new line to be delivered', () => lines.stdout.includes('c'));
    assert.deepEqual(lines.stdout, ['c'], 'nothing indexed before is delivered again');
    await t.finish('e');
    assert.deepEqual(indexedEnds(dir), [2, 4, 6]);
    assert.deepEqual(await chunkTimes(dir, 'stdout', [0, 1, 2, 3]), [1000, 1000, 2000, 2000]);
    assert.deepEqual(rejections, []);
  });

  it('delivers a line longer than one read in pieces while it grows, instead of re-reading it on every write', async () => {
    const dir = executorDir();
    const { t, lines } = tailer();
    await t.watch('e', dir);
    appendFileSync(join(dir, 'stdout'), 'x'.repeat(8 * 1024 * 1024 + 5));
    await eventually('the first piece to be delivered', () => lines.stdout.length === 1);
    assert.equal(lines.stdout[0]!.length, 8 * 1024 * 1024);
    appendFileSync(join(dir, 'stdout'), 'x\n');
    await eventually('the rest to be delivered', () => lines.stdout.length === 2);
    assert.equal(lines.stdout[1], 'xxxxxx');
    await t.finish('e');
  });

  it('reads and carries over an index an older server wrote beside the log file', async () => {
    const dir = executorDir();
    writeFileSync(join(dir, 'stdout'), 'a\nb\n');
    writeFileSync(legacyIndexPath(dir, 'stdout'), '2 1000\n4 2000\n');
    assert.deepEqual(await chunkTimes(dir, 'stdout', [0, 3]), [1000, 2000], 'the old index is read where there is no new one');
    const { t, lines } = tailer();
    await t.watch('e', dir);
    appendFileSync(join(dir, 'stdout'), 'c\n');
    await t.finish('e');
    assert.deepEqual(lines.stdout, ['c']);
    assert.deepEqual(indexedEnds(dir), [2, 4, 6]);
    assert.deepEqual(await chunkTimes(dir, 'stdout', [1, 2]), [1000, 2000]);
  });
});
