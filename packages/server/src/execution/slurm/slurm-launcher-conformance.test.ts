/** The Slurm launcher against the launcher conformance suite, on a real cluster (scripts/slurm-dev-cluster.sh). */
import { describe } from 'node:test';
import { launcherConformance } from '../../testing/launcher-conformance.js';
import { tempDir } from '../../testing/databases.js';
import { runningHere, slurmSkip } from '../../testing/slurm.js';
import { SlurmLauncher } from './slurm-launcher.js';

const scriptDir = tempDir('periscope-slurm-scripts-');

describe('slurm', { skip: slurmSkip }, () => {
  launcherConformance('slurm', {
    make: () => new SlurmLauncher({ scriptDir, fastPollMs: 50, slowPollMs: 200 }),
    running: async (marker) => runningHere(marker),
    fastTimeLimits: false,
  });
});
