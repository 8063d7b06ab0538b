import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { masterPod } from './master-pod.js';

const ID = 'experiment-1647574374688-0002';
const log = (...roles: string[]) => ({ experimentId: ID, logContent: roles.map((r) => ({ podName: `${ID}-${r}`, podLog: [r] })) });

describe('masterPod (the pod getLog onlyMaster keeps)', () => {
  it('is replica 0 of Master, by number and not by name order, whatever order the pods come in', () => {
    assert.equal(masterPod(log('worker-0', 'master-10', 'master-2', 'master-0', 'chief-0'))?.podName, `${ID}-master-0`);
    assert.equal(masterPod(log('master-10', 'master-9'))?.podName, `${ID}-master-9`);
  });

  it('is Chief replica 0 when there is no Master', () => {
    assert.equal(masterPod(log('worker-0', 'ps-0', 'chief-0'))?.podName, `${ID}-chief-0`);
  });

  it('is the first pod by name otherwise, and nothing when there are no pods', () => {
    assert.equal(masterPod(log('worker-1', 'worker-0', 'ps-0'))?.podName, `${ID}-ps-0`);
    assert.equal(masterPod({ experimentId: ID, logContent: [] }), undefined);
  });

  it('reads the role of later trials (<id>-t<n>-<role>-<index>) and ignores pods of other experiments', () => {
    assert.equal(masterPod(log('t2-worker-0', 't2-master-0'))?.podName, `${ID}-t2-master-0`);
    const foreign = { experimentId: ID, logContent: [{ podName: 'other-master-0', podLog: [] }, { podName: `${ID}-worker-0`, podLog: [] }] };
    assert.equal(masterPod(foreign)?.podName, `${ID}-worker-0`);
  });
});
