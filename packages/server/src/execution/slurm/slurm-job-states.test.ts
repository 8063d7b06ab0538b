/**
 * Ends that only Slurm knows the cause of, on the dev cluster: a node that fails under a job (set DOWN by
 * scontrol) ends its executors with node-failure, the platform's fault; a job past its time limit ends with
 * timeout, the user's; with the controller stopped, health and new trials say so. Slurm counts time limits in whole minutes and checks them every half minute or so,
 * so the timeout case takes about 80 s: it runs beside the node failure, in this file of its own.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { call, create, testApp, waitForStatus } from '../../testing/app.js';
import { eventually, tempDir } from '../../testing/databases.js';
import { gangOf } from '../../testing/launcher.js';
import { cancelPeriscopeJobs, slurmSkip } from '../../testing/slurm.js';
import type { ExecutorExit } from '../launcher.js';
import { shellCommand } from '../local/wrapper.js';
import { SlurmLauncher } from './slurm-launcher.js';

// Steps a test left waiting for their launch (its server gone on purpose) must not hold the cluster.
after(cancelPeriscopeJobs);

const CLUSTER_SCRIPT = fileURLToPath(new URL('../../../../../scripts/slurm-dev-cluster.sh', import.meta.url));

describe('slurm job states', { skip: slurmSkip }, () => {
  const launcher = new SlurmLauncher({ scriptDir: tempDir('periscope-slurm-scripts-'), queuePollMs: 100 });
  const exits = new Map<string, ExecutorExit>();
  launcher.on('exited', (e) => exits.set(e.name, e));
  after(() => launcher.close());

  const gang = (name: string, extra: object, trialId: number) => {
    const dir = tempDir();
    return { ...gangOf([{ name, argv: shellCommand('sleep 300'), cwd: dir, env: {}, logDir: join(dir, name), resources: { cpu: 1, memoryMb: 64, gpu: 0 }, ...extra }], trialId) };
  };

  it('a job past its time limit ends with timeout, the user’s fault; a failed node ends its job with node-failure, the platform’s', { timeout: 180_000 }, async () => {
    await launcher.submit({ ...gang('late', { nodes: ['node1'] }, 1), timeLimitS: 1 });
    await launcher.submit(gang('stranded', { nodes: ['node2'] }, 2));
    await eventually('the stranded job to run', () => launcher.listenerCount('exited') > 0 && hasLanded(), 30_000);
    execFileSync('scontrol', ['update', 'NodeName=node2', 'State=DOWN', 'Reason=periscope-test']);
    try {
      const stranded = await eventually('the stranded executor to end', () => exits.get('stranded'), 60_000);
      assert.deepEqual([stranded.cause, stranded.fault], ['node-failure', 'platform'], JSON.stringify(stranded));
    } finally {
      // With ReturnToService=2 the node may be back on its own already (then RESUME is refused).
      try {
        execFileSync('scontrol', ['update', 'NodeName=node2', 'State=RESUME'], { stdio: 'ignore' });
      } catch {
        // back already
      }
    }
    const late = await eventually('the late executor to time out', () => exits.get('late'), 150_000);
    assert.deepEqual([late.cause, late.fault], ['timeout', 'user']);
  });

  it('with the controller down, health says so (503) and a new trial fails naming Slurm’s error, never a hang or a 500', { timeout: 100_000 }, async () => {
    const app = await testApp(join(tempDir(), 'db.sqlite'), { launcher: { kind: 'slurm', defaults: {} } });
    execFileSync('pkill', ['-x', 'slurmctld']);
    try {
      await eventually('the controller to be gone', () => spawnSync('scontrol', ['ping'], { encoding: 'utf8' }).stdout.includes('DOWN'), 20_000);
      const health = await call(app, 'GET', '/api/v1/health');
      assert.equal(health.status, 503);
      assert.match(health.body.message, /The slurm controller is not reachable: .*DOWN/);
      const id = await create(app, { meta: { name: 'down', framework: 'Custom', cmd: 'true' }, spec: { Worker: {} } });
      assert.equal((await waitForStatus(app, id, ['Succeeded', 'Failed'], 90_000)).status, 'Failed');
      const [trial] = (await call(app, 'GET', `/api/v1/experiment/${id}/trials`)).body.result;
      assert.match(trial.message, /sbatch failed: .*Unable to contact slurm controller/);
    } finally {
      execFileSync('bash', [CLUSTER_SCRIPT, 'start'], { stdio: 'ignore' });
    }
  });

  function hasLanded(): boolean {
    const out = execFileSync('squeue', ['--me', '--noheader', '--steps', '--format=%i %N'], { encoding: 'utf8' });
    return / node2$/m.test(out.trim());
  }
});
