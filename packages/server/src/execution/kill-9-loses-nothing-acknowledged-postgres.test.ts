/**
 * Crash consistency under a mixed workload on postgres (testing/chaos.ts): kill -9 of the server at random
 * moments, restarts on the same data, then every acknowledged create, cancel and delete checked against the
 * final state, and no process left behind. A few rounds here; the benchmark suite runs more. (One file per
 * database, so each has the whole per-file time budget.)
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { bundledServer, runChaos } from '../testing/chaos.js';
import { DATABASES } from '../testing/databases.js';

const database = DATABASES[1]!;

it('kill -9 during a mixed workload (postgres) loses no acknowledged create, cancel or delete, settles everything and leaves no process', { skip: database.skip }, async () => {
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
