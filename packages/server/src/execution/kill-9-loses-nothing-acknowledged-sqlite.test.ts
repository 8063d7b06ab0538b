/**
 * Crash consistency under a mixed workload on sqlite (testing/chaos.ts): kill -9 of the server at random
 * moments, restarts on the same data, then every acknowledged create, cancel and delete checked against the
 * final state, and no process left behind. A few rounds here; the benchmark suite runs more.
 */
import { chaosCheck } from '../testing/chaos-test.js';
import { DATABASES } from '../testing/databases.js';

chaosCheck(DATABASES[0]!);
