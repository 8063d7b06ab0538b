/** The Slurm launcher against the launcher conformance suite, on a real cluster (scripts/slurm-dev-cluster.sh). */
import { after, describe } from 'node:test';
import { launcherConformance } from '../../testing/launcher-conformance.js';
import { tempDir } from '../../testing/databases.js';
import { cancelPeriscopeJobs, runningHere, slurmSkip } from '../../testing/slurm.js';
import { SlurmLauncher } from './slurm-launcher.js';

// Steps a test left waiting for their launch (its server gone on purpose) must not hold the cluster.
after(cancelPeriscopeJobs);

const scriptDir = tempDir('periscope-slurm-scripts-');

describe('slurm', { skip: slurmSkip }, () => {
  launcherConformance('slurm', {
    make: () => new SlurmLauncher({ scriptDir, queuePollMs: 100 }),
    running: async (marker) => runningHere(marker),
    fastTimeLimits: false,
  });
});
