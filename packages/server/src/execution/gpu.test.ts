/**
 * On a machine with NVIDIA GPUs: real detection through nvidia-smi, and executors that see exactly the GPUs
 * the scheduler gave them through CUDA_VISIBLE_DEVICES. Skips cleanly where there is no nvidia-smi.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { detectCapacity, detectGpus } from './capacity.js';
import type { ExecutorExit } from './launcher.js';
import { LocalLauncher } from './local/local-launcher.js';
import { shellCommand } from './local/wrapper.js';
import { GangScheduler } from './scheduler.js';
import { gangOf, localHandle } from '../testing/launcher.js';

const gpus = await detectGpus();
const torch = spawnSync('python3', ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

describe('GPUs on this machine', { skip: gpus.length === 0 ? 'no nvidia-smi or no GPU here' : false }, () => {
  it('detects them with nvidia-smi', async () => {
    const node = await detectCapacity();
    assert.ok(node.gpus.length >= 1);
    assert.deepEqual(node.gpus.map((g) => g.index), [...node.gpus.keys()]);
    assert.ok(node.gpus.every((g) => g.name.length > 0 && g.memoryMb > 0 && g.uuid.startsWith('GPU-')), JSON.stringify(node.gpus));
  });

  it('lets an executor see only the GPUs assigned to it', async () => {
    const node = await detectCapacity();
    const scheduler = new GangScheduler(node);
    scheduler.enqueue({ trialId: 1, priority: 0, executors: [{ cpu: 0, memoryMb: 0, gpu: 1 }, { cpu: 0, memoryMb: 0, gpu: 0 }] });
    const [placement] = scheduler.schedule();
    assert.deepEqual(placement!.gpus, [[0], []]);
    const launcher = new LocalLauncher(node);
    const dir = mkdtempSync(join(tmpdir(), 'periscope-gpu-'));
    const probe = torch ? 'python3 -c "import torch; print(torch.cuda.device_count())"' : 'true';
    const cmd = `echo "visible=[$CUDA_VISIBLE_DEVICES]"; ${probe}`;
    const ended: ExecutorExit[] = [];
    const done = new Promise<void>((resolve) => launcher.on('exited', (e) => ended.push(e) === 2 && resolve()));
    await launcher.submit(gangOf(
      placement!.gpus.map((g, i) => ({ name: `e${i}`, argv: shellCommand(cmd), cwd: dir, env: { CUDA_VISIBLE_DEVICES: g.join(',') }, logDir: join(dir, `e${i}`) })),
    ));
    await done;
    assert.ok(ended.every((e) => e.exitCode === 0), JSON.stringify(ended));
    const out = (i: number) => readFileSync(join(dir, `e${i}`, 'stdout'), 'utf8').trim().split('\n');
    assert.equal(out(0)[0], 'visible=[0]');
    assert.equal(out(1)[0], 'visible=[]');
    if (torch) {
      assert.equal(out(0)[1], '1', 'torch sees exactly one GPU');
      assert.equal(out(1)[1], '0', 'torch sees none');
    }
    console.log(`GPU proof: ${node.gpus.map((g) => `${g.index}:${g.name}`).join(', ')}; executor 0 → ${out(0).join(' / ')}; executor 1 → ${out(1).join(' / ')}`);
    await launcher.close();
  });
});
