/**
 * The trial lifecycle and the domain events, on both databases: a move the transition table does not list
 * changes nothing, the first terminal state wins and is published once, and every subscriber of an event hears
 * it (a real job's start, exit and end reach two listeners each, and a listener that throws stops no one).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TrialStore } from '../trials/store.js';
import { create, testApp, waitForStatus } from '../testing/app.js';
import { DATABASES, eventually } from '../testing/databases.js';
import { EventBus, type DomainEvents } from './events.js';
import { allowedFrom, TRIAL_TRANSITIONS, TrialLifecycle } from './trial-lifecycle.js';

describe('the transition table', () => {
  it('lets an ended trial go nowhere but back to the queue (reopen), and names every way in', () => {
    for (const ended of ['Succeeded', 'Failed', 'Canceled'] as const) assert.deepEqual(TRIAL_TRANSITIONS[ended], []);
    assert.deepEqual(allowedFrom('Running'), ['Preparing']);
    assert.deepEqual(allowedFrom('Ready'), ['Preparing']);
    assert.deepEqual(allowedFrom('Canceled').sort(), ['Preparing', 'Queued', 'Ready', 'Running']);
  });
});

for (const db of DATABASES) {
  describe(`the trial lifecycle on ${db.name}`, { skip: db.skip }, () => {
    it('refuses moves the table does not list, publishes each move, and the first end once', async () => {
      const app = await testApp(await db.fresh());
      const id = await create(app, { meta: { name: 'held', framework: 'Custom', cmd: 'true' }, spec: { Worker: {} }, autoStart: false });
      const trials = new TrialStore(app.db.kysely);
      const [trial] = await trials.ofExperiment(id);
      const bus = new EventBus(app.http.log);
      const moved: DomainEvents['trial.moved'][] = [];
      const finished: DomainEvents['trial.finished'][] = [];
      bus.on('trial.moved', (e) => moved.push(e));
      bus.on('trial.finished', (e) => finished.push(e));
      const lifecycle = new TrialLifecycle(trials, bus, app.http.log);
      const ready = await eventually('the trial to be prepared', async () => {
        const current = await trials.get(trial!.id);
        return current?.state === 'Ready' ? current : undefined;
      });
      assert.equal(await lifecycle.move(ready, 'Running'), false, 'Ready → Running is not in the table');
      assert.equal((await trials.get(trial!.id))!.state, 'Ready');
      assert.equal(await lifecycle.move(ready, 'Canceled', { message: 'first' }), true);
      assert.equal(await lifecycle.move(ready, 'Failed', { message: 'second' }), false, 'the first end wins');
      const stored = (await trials.get(trial!.id))!;
      assert.deepEqual([stored.state, stored.message], ['Canceled', 'first']);
      assert.deepEqual(moved.map((e) => e.to), ['Canceled']);
      assert.deepEqual(finished.map((e) => [e.trial.id, e.outcome]), [[trial!.id, 'Canceled']]);
      assert.equal(await lifecycle.reopen(stored), true);
      assert.equal((await trials.get(trial!.id))!.state, 'Queued');
      assert.deepEqual(moved.map((e) => e.to), ['Canceled', 'Queued']);
    });

    it('tells every subscriber of the engine a job started, exited and ended, even when one of them throws', async () => {
      const app = await testApp(await db.fresh());
      const { bus } = app.execution;
      const heard: string[][] = [[], []];
      bus.on('executor.started', () => {
        throw new Error('a broken subscriber');
      });
      for (const log of heard) {
        bus.on('executor.started', (e) => log.push(`started ${e.name} on ${e.node}`));
        bus.on('executor.exited', (e) => log.push(`exited ${e.name} ${e.cause} ${e.fault} ${e.exitCode}`));
        bus.on('trial.finished', (e) => log.push(`finished ${e.outcome}`));
      }
      const id = await create(app, { meta: { name: 'told', framework: 'Custom', cmd: 'exit 3' }, spec: { Worker: {} } });
      assert.equal((await waitForStatus(app, id, ['Succeeded', 'Failed'])).status, 'Failed');
      const node = (await app.execution.launcher.nodes())[0]!.name;
      for (const log of heard) assert.deepEqual(log, [`started ${id}-worker-0 on ${node}`, `exited ${id}-worker-0 exited user 3`, 'finished Failed']);
    });
  });
}
