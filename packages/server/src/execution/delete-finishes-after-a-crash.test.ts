/**
 * A DELETE cut short by kill -9 (the experiment marked Deleted, its files not yet purged) is finished when the
 * server starts again, and so are log and work dirs a delete left behind without a row, and the trees a delete
 * had moved into the trash to remove after its answer. On both databases.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { call, create, testApp, waitForStatus } from '../testing/app.js';
import { DATABASES, eventually, tempDir } from '../testing/databases.js';

const ORPHAN = 'experiment-1600000000000-0001';

for (const database of DATABASES) {
  describe(`a delete cut short (${database.name})`, { skip: database.skip }, () => {
    it('is finished at the next start: the files go, then the experiment', async () => {
      const target = await database.fresh();
      const dataDir = tempDir();
      const first = await testApp(target, { dataDir });
      const id = await create(first, { meta: { name: 'doomed', framework: 'Custom', cmd: 'echo some output' }, spec: { Worker: {} } });
      await waitForStatus(first, id, ['Succeeded']);
      const kept = await create(first, { meta: { name: 'kept', framework: 'Custom', cmd: 'echo kept' }, spec: { Worker: {} } });
      await waitForStatus(first, kept, ['Succeeded']);
      const logs = join(dataDir, 'logs', id);
      const work = join(dataDir, 'work', id);
      assert.ok(existsSync(logs) && existsSync(work));
      // What kill -9 right after the first step of a delete leaves: the mark, and every file.
      await first.db.kysely.updateTable('experiments').set({ status: 'Deleted' }).where('id', '=', id).execute();
      // And what an older server's delete left: files without a row.
      for (const root of ['logs', 'work']) {
        mkdirSync(join(dataDir, root, ORPHAN, 'x'), { recursive: true });
        writeFileSync(join(dataDir, root, ORPHAN, 'x', 'file'), 'left behind');
      }
      await first.close();

      const second = await testApp(target, { dataDir });
      assert.ok(!existsSync(logs), 'its logs are purged');
      assert.ok(!existsSync(work), 'its work dir is purged');
      assert.ok(!existsSync(join(dataDir, 'logs', ORPHAN)) && !existsSync(join(dataDir, 'work', ORPHAN)), 'dirs without an experiment are purged');
      const gone = await call(second, 'GET', `/api/v1/experiment/${id}`);
      assert.equal(gone.status, 404);
      assert.equal(gone.body.message, 'Not found experiment.');
      assert.deepEqual((await call(second, 'GET', `/api/v1/experiment/logs/${kept}`)).body.result.logContent[0].podLog, ['kept'], 'other experiments keep theirs');
    });

    it('answers with the trees moved aside, removes them after, and removes what a killed server had set aside', async () => {
      const target = await database.fresh();
      const dataDir = tempDir();
      const first = await testApp(target, { dataDir });
      const id = await create(first, { meta: { name: 'doomed', framework: 'Custom', cmd: 'echo some output' }, spec: { Worker: {} } });
      await waitForStatus(first, id, ['Succeeded']);
      assert.equal((await call(first, 'DELETE', `/api/v1/experiment/${id}`)).status, 200);
      for (const root of ['logs', 'index', 'work', 'checkpoints']) assert.ok(!existsSync(join(dataDir, root, id)), `its ${root} tree is gone when the delete answers`);
      const trash = join(dataDir, 'trash');
      await eventually('the trash to be emptied', () => readdirSync(trash).length === 0 || undefined);
      // What kill -9 between a delete's answer and the removal leaves.
      mkdirSync(join(trash, 'left', 'x'), { recursive: true });
      writeFileSync(join(trash, 'left', 'x', 'file'), 'left behind');
      await first.close();

      const second = await testApp(target, { dataDir });
      await eventually('what was set aside to be removed', () => readdirSync(trash).length === 0 || undefined);
      await second.close();
    });
  });
}
