/** The local launcher against the launcher conformance suite (testing/launcher-conformance.ts). */
import { launcherConformance } from '../../testing/launcher-conformance.js';
import { runningHere } from '../../testing/launcher.js';
import { LocalLauncher } from './local-launcher.js';

const node = { name: 'conformance', architecture: 'x64', cpus: 2, memoryMb: 1024, gpus: [], labels: {} };

launcherConformance('local', {
  make: () => new LocalLauncher(node, { timeoutGraceMs: 1000 }),
  fastTimeLimits: true,
  running: async (marker) => runningHere(marker),
});
