import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalOfSubmarine, EXPERIMENT_STATUSES, isTerminal, STATUS_TABLE, toSubmarineStatus } from './status.js';

describe('status mapping', () => {
  it('gives every canonical status a name on every face', () => {
    for (const status of EXPERIMENT_STATUSES) {
      const faces = STATUS_TABLE[status];
      assert.ok(faces.submarine && faces.netunicorn && faces.determined, status);
    }
  });

  it('shows Preparing and Ready as Submarine Created, Canceled as Failed', () => {
    assert.equal(toSubmarineStatus('Preparing'), 'Created');
    assert.equal(toSubmarineStatus('Ready'), 'Created');
    assert.equal(toSubmarineStatus('Canceled'), 'Failed');
    assert.equal(STATUS_TABLE.Ready.netunicorn, 'READY');
    assert.equal(STATUS_TABLE.Canceled.determined, 'CANCELED');
  });

  it('reads Submarine names in any case and refuses unknown ones', () => {
    assert.deepEqual(canonicalOfSubmarine('created'), ['Preparing', 'Ready']);
    assert.deepEqual(canonicalOfSubmarine('FAILED'), ['Failed', 'Canceled']);
    assert.deepEqual(canonicalOfSubmarine(' Running '), ['Running']);
    assert.equal(canonicalOfSubmarine('Finished'), undefined);
  });

  it('knows which statuses are terminal', () => {
    assert.deepEqual(EXPERIMENT_STATUSES.filter(isTerminal), ['Succeeded', 'Failed', 'Canceled', 'Deleted']);
  });
});
