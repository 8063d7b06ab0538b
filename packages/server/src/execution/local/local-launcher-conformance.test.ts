/** The local launcher against the launcher conformance suite (testing/launcher-conformance.ts). */
import { readdirSync, readFileSync } from 'node:fs';
import { launcherConformance } from '../../testing/launcher-conformance.js';
import { LocalLauncher } from './local-launcher.js';

const node = { name: 'conformance', architecture: 'x64', cpus: 2, memoryMb: 1024, gpus: [], labels: {} };

launcherConformance('local', {
  make: () => new LocalLauncher(node, { timeoutGraceMs: 1000 }),
  fastTimeLimits: true,
  async running(marker) {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        // A zombie has an empty command line: it runs nothing.
        if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').includes(marker)) return true;
      } catch {
        // gone meanwhile
      }
    }
    return false;
  },
});
