import assert from 'node:assert/strict';
import { it } from 'node:test';
import { bundledServer, runChaos } from './chaos.js';
import type { TestDatabase } from './databases.js';

/** The suite's chaos check on one database (a file per database, so each has the whole per-file time budget). */
export function chaosCheck(database: TestDatabase): void {
  it(`kill -9 during a mixed workload (${database.name}) loses no acknowledged create, cancel or delete, settles everything and leaves no process`, { skip: database.skip }, async () => {
    const report = await runChaos({
      command: bundledServer(),
      ...(database.name === 'postgres' && { db: await database.fresh() }),
      rounds: 2,
      // A lighter load than the bench's, to stay well inside the per-file time budget on a busy machine.
      clients: 4,
      killAfterMs: [300, 1500],
      log: (line) => process.stderr.write(`${line}\n`),
    });
    assert.deepEqual(report.violations, [], `seed ${report.seed}`);
    // The workload did happen: the check above is not vacuous.
    assert.ok(report.creates >= 4, `only ${report.creates} creates acknowledged (seed ${report.seed})`);
  });
}
