/**
 * A follower with nothing new asks whether its trial has ended, reads the files, and waits. An end told while it
 * asks or reads must still wake that wait: the trial may end right after its state was read (under load the
 * window is milliseconds wide). With checks an hour apart, only a wait armed before the check ends this in time.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../testing/databases.js';
import { DataLayout } from './layout.js';
import { LogService, type Endings } from './service.js';
import { LogTailer } from './tailer.js';

describe('a follower', () => {
  it('ends when the trial ends while it is checking whether it has ended', { timeout: 20_000 }, async () => {
    const layout = new DataLayout(tempDir());
    const source = { experimentId: 'experiment-1', executor: 'experiment-1-worker-0', rank: 0 };
    const dir = layout.executorLogs(source.experimentId, source.executor);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'stdout'), 'only line\n');
    const tailer = new LogTailer();
    const logs = new LogService(layout, tailer, 3_600_000);
    const listeners = new Set<() => void>();
    const endings: Endings = (ended) => {
      listeners.add(ended);
      return () => listeners.delete(ended);
    };
    let checks = 0;
    // The first check answers "still running", and the trial ends at that very moment (told to whoever listens).
    const ended = async () => {
      checks++;
      if (checks === 1) {
        for (const listener of [...listeners]) listener();
        return false;
      }
      return true;
    };
    const lines: string[] = [];
    try {
      // Aborted after 10 s at the latest, so a missed end fails here rather than hanging the file.
      for await (const { line } of logs.follow([source], {}, ended, AbortSignal.timeout(10_000), endings)) lines.push(line.text);
    } finally {
      tailer.close();
    }
    assert.deepEqual(lines, ['only line']);
    assert.equal(checks, 2, 'woken by the end, it checked again and stopped');
  });
});
