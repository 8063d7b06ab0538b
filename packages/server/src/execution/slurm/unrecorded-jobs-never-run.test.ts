/**
 * A job the server submitted but did not get to record (it died between sbatch and the store) must never run
 * its command, and must not take the launch of the executor's next submission: the restarted server knows
 * nothing of it and launches the executor again. On the real Slurm dev cluster, with the launcher itself: the
 * "crash" is a `recorded` that never resolves, the restart a second launcher on the same dirs.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { eventually, tempDir } from '../../testing/databases.js';
import { gangOf } from '../../testing/launcher.js';
import { cancelPeriscopeJobs, slurmSkip } from '../../testing/slurm.js';
import type { ExecutorExit, ExecutorHandle } from '../launcher.js';
import { shellCommand } from '../local/wrapper.js';
import { SlurmCli } from './slurm-cli.js';
import { SlurmLauncher } from './slurm-launcher.js';

after(cancelPeriscopeJobs);

const scriptDir = tempDir('periscope-slurm-scripts-');
const never = () => new Promise<void>(() => undefined);

/** The Slurm states of the jobs of `handles` (ended ones are kept for a while). */
async function states(handles: ExecutorHandle[]): Promise<string[]> {
  const ids = new Set(handles.map((h) => h.handle.split('/')[0]!));
  return (await new SlurmCli({}).jobs()).filter((r) => ids.has(r.id.split('+')[0]!)).map((r) => r.state);
}

for (const [what, restart] of [
  ['resubmitted as it is', async (_: SlurmLauncher) => undefined],
  ['recovered without a handle first, then resubmitted', async (l: SlurmLauncher, logDir: string) => l.recover([{ name: 'once', handle: null, logDir }])],
] as const) {
  it(`a job submitted but never recorded runs nothing; the executor ${what} runs once`, { skip: slurmSkip, timeout: 100_000 }, async () => {
    const dir = tempDir();
    const logDir = join(dir, 'once');
    const spec = { name: 'once', argv: shellCommand('echo ran >> "$RUNS"'), cwd: dir, env: { RUNS: join(dir, 'runs') }, logDir };

    // The first server: sbatch answered, and the store never took the handle (it died there).
    const first = new SlurmLauncher({ scriptDir, queuePollMs: 100 });
    let stale: ExecutorHandle[] = [];
    void first.submit({ ...gangOf([spec]), recorded: (handles) => ((stale = handles), never()) });
    await eventually('the first job to be submitted', () => stale.length === 1);
    // Its step landed (or will): it waits for a launch, and none is written for it.
    await eventually('the first job to land', () => existsSync(join(logDir, 'landed')), 60_000);
    await first.close();
    assert.equal(existsSync(join(dir, 'runs')), false, 'nothing ran before the handle was stored');

    // The restarted server, which knows nothing of that job.
    const second = new SlurmLauncher({ scriptDir, queuePollMs: 100 });
    const exits: ExecutorExit[] = [];
    second.on('exited', (e) => exits.push(e));
    try {
      await restart(second, logDir);
      const recorded: ExecutorHandle[][] = [];
      const handles = await second.submit({ ...gangOf([spec]), recorded: async (h) => void recorded.push(h) });
      assert.deepEqual(recorded, [handles], 'the launcher told the handles before it answered');
      const ran = await eventually('the resubmitted executor to end', () => exits.find((e) => e.name === 'once' && e.cause === 'exited'), 60_000);
      // It left on its own, having run nothing: completed, not canceled.
      await eventually('the stale job to end', async () => (await states(stale)).join() === 'COMPLETED', 60_000);
      assert.deepEqual(readFileSync(join(dir, 'runs'), 'utf8').split('\n').filter(Boolean), ['ran'], 'the command ran exactly once');
      assert.equal(ran.exitCode, 0);
      // Recovered without a handle, it was reported lost first (what the engine then queues again).
      assert.deepEqual(exits.filter((e) => e !== ran).map((e) => e.cause), what.startsWith('recovered') ? ['lost'] : []);
    } finally {
      await second.close();
    }
  });
}
