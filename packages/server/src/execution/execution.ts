/**
 * Assembles execution (the launcher the server was started with, its placer, the log tailer, the orchestrator)
 * and offers the experiment service the narrow port it needs.
 */
import type { NormalizedExperimentSpec } from '@periscope/core';
import type { FastifyBaseLogger } from 'fastify';
import type { EnvironmentStore } from '../environments/store.js';
import type { ExecutionPort } from '../experiments/service.js';
import type { ExperimentRecord, ExperimentStore } from '../experiments/store.js';
import { DataLayout } from '../logs/layout.js';
import { LogService } from '../logs/service.js';
import { LogTailer } from '../logs/tailer.js';
import type { TrialStore } from '../trials/store.js';
import { detectCapacity, type CapacityOverrides, type NodeCapacity } from './capacity.js';
import { join } from 'node:path';
import type { LauncherConfig } from '../config.js';
import type { Launcher } from './launcher.js';
import { LocalLauncher } from './local/local-launcher.js';
import { SlurmLauncher } from './slurm/slurm-launcher.js';
import type { CodeMaterializer } from './launch-specs.js';
import { EventBus } from './events.js';
import { Orchestrator, type Admission, type TaskTokens } from './orchestrator.js';
import { Reconciler } from './reconciler.js';
import type { Placer } from './scheduler.js';
import { SearchDriver } from './search-driver.js';

export interface ExecutionOptions {
  dataDir: string;
  experiments: ExperimentStore;
  trials: TrialStore;
  environments: EnvironmentStore;
  code: CodeMaterializer;
  capacity?: CapacityOverrides;
  /** Default local. */
  launcher?: LauncherConfig;
  /** SIGTERM → SIGKILL grace period when stopping executors, in ms (default 10 s). */
  graceMs?: number;
  taskTokens?: TaskTokens;
  /** Time between two reconciler passes, in ms (default 5 s). */
  reconcileMs?: number;
  /** How often an idle follower checks whether its trial has ended, in ms (default 250). */
  followCheckMs?: number;
  log: FastifyBaseLogger;
}

export class Execution implements ExecutionPort {
  private apiUrl = '';
  private apiCaFile: string | undefined;

  private constructor(
    /** What the server runs on, in words (the local node's capacity, or the Slurm cluster). */
    readonly describe: () => Promise<string>,
    readonly launcher: Launcher,
    readonly tailer: LogTailer,
    readonly logs: LogService,
    /** Domain events (trial moves and ends, executors started and exited) for any number of subscribers. */
    readonly bus: EventBus,
    readonly orchestrator: Orchestrator,
    readonly layout: DataLayout,
    readonly search: SearchDriver,
    readonly reconciler: Reconciler,
    private readonly trials: TrialStore,
    private readonly experiments: ExperimentStore,
  ) {}

  static async create(options: ExecutionOptions): Promise<Execution> {
    const layout = new DataLayout(options.dataDir);
    const { launcher, describe } = await makeLauncher(options);
    const tailer = new LogTailer({ log: options.log });
    const logs = new LogService(layout, tailer, options.followCheckMs);
    const bus = new EventBus(options.log);
    let execution: Execution | undefined;
    const orchestrator = new Orchestrator({
      bus,
      layout,
      launcher,
      tailer,
      experiments: options.experiments,
      trials: options.trials,
      storedImage: async (name) => (await options.environments.get(name))?.spec.dockerImage ?? null,
      code: options.code,
      graceMs: options.graceMs ?? 10_000,
      apiUrl: () => execution?.apiUrl ?? '',
      apiCaFile: () => execution?.apiCaFile,
      ...(options.taskTokens && { taskTokens: options.taskTokens }),
      log: options.log,
    });
    const search = new SearchDriver(orchestrator, bus, options.experiments, options.trials, options.log);
    const reconciler = new Reconciler({
      orchestrator,
      experiments: options.experiments,
      trials: options.trials,
      layout,
      ...(options.reconcileMs !== undefined && { intervalMs: options.reconcileMs }),
      log: options.log,
    });
    execution = new Execution(describe, launcher, tailer, logs, bus, orchestrator, layout, search, reconciler, options.trials, options.experiments);
    return execution;
  }

  /** Where the launcher's gangs wait and are placed (its queue and what it has placed). */
  get scheduler(): Placer {
    return this.launcher.placer;
  }

  /** Where executors reach the API (PERISCOPE_API), once the server listens; `caFile` verifies its HTTPS. */
  setApiUrl(url: string, caFile?: string): void {
    this.apiUrl = url;
    this.apiCaFile = caFile;
  }

  /**
   * A plain experiment runs one trial, written with the experiment; one with a searcher runs the trials its
   * searcher creates once the experiment is stored (a search has no single trial to prepare: autoStart false
   * applies to plain experiments).
   */
  async admission(experimentId: string, spec: NormalizedExperimentSpec): Promise<Admission> {
    if (!spec.searcher) return this.orchestrator.admission(experimentId, spec);
    return {
      status: 'Accepted',
      write: async () => {},
      abandon: async () => {},
      begin: async () => {
        const experiment = await this.experiments.get(experimentId);
        if (experiment) await this.search.begin(experiment);
      },
    };
  }

  startPrepared(experimentId: string): Promise<void> {
    return this.orchestrator.startPrepared(experimentId);
  }

  cancel(experimentId: string): Promise<void> {
    return this.orchestrator.cancel(experimentId);
  }

  purge(experimentId: string): Promise<void> {
    return this.reconciler.purge(experimentId);
  }

  async podLogs(experiment: ExperimentRecord): Promise<Map<string, string[]>> {
    const executors = await this.trials.executorsOfExperiment(experiment.id);
    const entries = await Promise.all(
      executors.map(async (e) => [e.name, await this.logs.podLog({ experimentId: experiment.id, executor: e.name, rank: e.rank })] as const),
    );
    return new Map(entries);
  }

  /**
   * Searches first (they hear about trials that ended while the server was down), then trials, then what only
   * the reconciler settles (ended trials, cancels and deletes cut short), then the ends a search had not heard
   * before the server died, then new searches; then the reconciler keeps watching.
   */
  async recover(): Promise<void> {
    const unstarted = await this.search.restore();
    await this.orchestrator.recover();
    await this.reconciler.recover();
    await this.search.replayEnded();
    for (const experiment of unstarted) await this.search.begin(experiment);
    this.reconciler.start();
  }

  /** Stops watching; executors keep running and are re-attached by the next start. */
  async close(): Promise<void> {
    this.reconciler.stop();
    await this.orchestrator.close();
    await this.reconciler.close();
    await this.launcher.close();
    this.tailer.close();
  }
}

async function makeLauncher(options: ExecutionOptions): Promise<{ launcher: Launcher; describe: () => Promise<string> }> {
  if (options.launcher?.kind === 'slurm') {
    // The scripts sit in the data dir, which every node must see (logs and work dirs are there too).
    const launcher = new SlurmLauncher({ scriptDir: join(options.dataDir, 'slurm'), defaults: options.launcher.defaults, log: options.log });
    const describe = async () => {
      try {
        const nodes = await launcher.nodes();
        return `Slurm cluster: ${nodes.length} node(s) (${nodes.map((n) => `${n.name} ${n.state}`).join(', ')})`;
      } catch (error) {
        return `Slurm cluster: not reachable now (${(error as Error).message})`;
      }
    };
    return { launcher, describe };
  }
  const node = await detectCapacity(options.capacity);
  const gpus = node.gpus.length === 0 ? 'no GPUs' : `GPUs ${node.gpus.map((g) => g.index).join(',')}`;
  return { launcher: new LocalLauncher(node, { log: options.log }), describe: async () => `Local node ${node.name}: ${node.cpus} CPUs, ${node.memoryMb} MiB memory, ${gpus}` };
}
