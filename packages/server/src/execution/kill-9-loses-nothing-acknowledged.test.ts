/**
 * Crash consistency under a mixed workload (testing/chaos.ts): kill -9 of the server at random moments,
 * restarts on the same data, then every acknowledged create, cancel and delete checked against the final
 * state, and no process left behind. A few rounds per database here; the benchmark suite runs more.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runChaos } from '../testing/chaos.js';
import { DATABASES } from '../testing/databases.js';
import { MAIN } from '../testing/server-process.js';

for (const database of DATABASES) {
  describe(`kill -9 during a mixed workload (${database.name})`, { skip: database.skip }, () => {
    it('loses no acknowledged create, cancel or delete, settles everything and leaves no process', async () => {
      const report = await runChaos({
        command: [process.execPath, '--import', 'tsx', MAIN],
        ...(database.name === 'postgres' && { db: await database.fresh() }),
        rounds: 2,
        log: (line) => process.stderr.write(`${line}\n`),
      });
      assert.deepEqual(report.violations, [], `seed ${report.seed}`);
      // The workload did happen: the check above is not vacuous.
      assert.ok(report.creates >= 4, `only ${report.creates} creates acknowledged (seed ${report.seed})`);
    });
  });
}
