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
      // A lighter load than the bench's (10 rounds of 6 clients): it shares the machine with the rest of the
      // suite, whose CLI files run close to their time budget when the machine is busy.
      rounds: 1,
      clients: 3,
      killAfterMs: [300, 1000],
      log: (line) => process.stderr.write(`${line}\n`),
    });
    assert.deepEqual(report.violations, [], `seed ${report.seed}`);
    // The workload did happen: the check above is not vacuous.
    assert.ok(report.creates >= 2, `only ${report.creates} creates acknowledged (seed ${report.seed})`);
  });
}
