/**
 * The server answers a plain log read one page at a time (10,000 lines by default, attributes.nextCursor to
 * the next); the SDK's trial logs follow the pages, so a long log reads whole, in order, line for line.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Periscope } from './index.js';
import { eventually, jobSpec, startServer } from './testing/server.js';

it('TrialReference.logs() reads a 25,000-line log whole, in order, across the server\'s pages', async () => {
  const server = await startServer();
  const client = new Periscope({ master: server.master });
  const created = await client.experiments.create(jobSpec('long-log', { Worker: 'seq 25000' }));
  await eventually('the experiment to succeed', async () => (await client.experiments.get(created.experimentId)).status === 'Succeeded', 60_000);
  const [info] = await client.experiments.trials(created.experimentId);
  const trial = await client.getTrial(info!.id);
  let count = 0;
  for await (const line of trial.logs()) {
    count++;
    if (line !== String(count)) assert.fail(`line ${count} reads ${line}`);
  }
  assert.equal(count, 25_000);
});
