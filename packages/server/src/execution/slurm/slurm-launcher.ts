/**
 * Runs gangs as Slurm jobs: one job per trial (a heterogeneous job, one component per executor, when it has
 * more than one: Slurm then allocates all or none, each executor with its own resources and constraints).
 * The batch script starts a step per executor; each step reports where it landed and waits for its launch
 * file, which this launcher writes once every step has landed, with the environment computed from there
 * (job-scripts.ts). Ends come from the executors' exit files and from Slurm's job states (timeout, out of
 * memory, node failure, preemption), read by polling `squeue`. A handle is `<job id>/<component>`.
 *
 * No launch file is written before the server has stored the handles (GangSpec.recorded), and each submission
 * has its own id in its executors' dirs: a job that a crash kept from being stored has run nothing, and leaves
 * once the restarted server abandons or resubmits its executors, so a command never runs twice.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { join } from 'node:path';
import { distributedEnv, type Landing } from '../distributed-env.js';
import type { ExitCause, ExecutorHandle, GangSpec, Launcher, LauncherEvents, RecoverableExecutor } from '../launcher.js';
import { executorEnv, exitOf, LOG_FILES, readExitFile, readSmallFile, type LauncherLog } from '../local/local-launcher.js';
import { BATCH_SCRIPT, JOB_FILES, launchFile, parseLanded, STEP_SCRIPT, type Landed } from './job-scripts.js';
import { sbatchArgs, type SlurmDefaults } from './sbatch-args.js';
import { SlurmCli, type SlurmCliOptions, type SlurmJobRow } from './slurm-cli.js';
import { parseNodes, type SlurmNode } from './slurm-nodes.js';
import { SlurmPlacer } from './slurm-placer.js';

export interface SlurmLauncherOptions extends SlurmCliOptions {
  /** Where the batch and step scripts are written: on the filesystem every node sees (the data dir). */
  scriptDir: string;
  /** Server-wide partition, account, qos and extra sbatch arguments; an experiment's own win. */
  defaults?: SlurmDefaults;
  log?: LauncherLog;
  /** How often the steps' landed files are looked for while a gang starts (ms, default 20). */
  landedPollMs?: number;
  /** How often running steps' exit files are read (ms, default 250). */
  exitPollMs?: number;
  /** How often Slurm's queue is read while a job starts or a cancel runs (ms, default 250; four times that otherwise). */
  queuePollMs?: number;
}

interface TrackedExecutor {
  name: string;
  index: number;
  rank: number;
  logDir: string;
  landed: Landed | null;
  canceled: boolean;
  reported: boolean;
  /** Whether `started` was told for it. */
  told: boolean;
  /** The exit code it recorded when a signal ended it, until the job's state tells whose signal it was. */
  signaled?: number;
}

/**
 * What a step is launched with, kept beside it from the submit on (`slurm-spec.json`), so a server restarted
 * before the gang landed still launches it.
 */
interface StepSpec {
  cwd: string;
  argv: string[];
  env: Record<string, string>;
  userEnv: Record<string, string> | null;
  role: string;
  rank: number;
  replica: number;
  /** Set when the engine computes the distributed-training environment (GangSpec.distributed). */
  framework: string | null;
  /** The submission it belongs to (`$PERISCOPE_SUBMISSION` of its job); absent from servers older than it. */
  submission?: string;
}

const SPEC_FILE = 'slurm-spec.json';

interface TrackedJob {
  id: string;
  trialId: number | null;
  executors: TrackedExecutor[];
  /** Per executor, by index; null until read back for a job re-attached after a restart. */
  specs: StepSpec[] | null;
  launched: boolean;
  pendingReason: string | null;
  /** Whether the last read of Slurm's queue found it pending: its steps cannot have landed, so nobody looks. */
  queued: boolean;
  /** Consecutive polls in which Slurm did not know the job (it ended long enough ago to be forgotten). */
  missing: number;
}

/** Slurm job states that are over, and the cause each gives executors that left no exit code of their own. */
const ENDED: Record<string, ExitCause | null> = {
  COMPLETED: null,
  FAILED: null,
  CANCELLED: 'canceled',
  TIMEOUT: 'timeout',
  DEADLINE: 'timeout',
  OUT_OF_MEMORY: 'out-of-memory',
  NODE_FAIL: 'node-failure',
  BOOT_FAIL: 'node-failure',
  PREEMPTED: 'preempted',
  REVOKED: 'canceled',
  SPECIAL_EXIT: null,
};

/**
 * The job's ports: rank r listens on one derived from the job id (the server cannot probe a remote node),
 * in 20000–32767, below Linux's ephemeral range (32768–60999), where outgoing connections would take them.
 */
export function portFor(jobId: string, rank: number): number {
  return 20_000 + ((Number(jobId) * 64 + rank) % 12_768);
}

const MAX_LAUNCH_FILE_BYTES = 1024 * 1024;

/** How long a read of the nodes serves (placement checks, the nodes route, health). */
const NODES_TTL_MS = 2000;

const stderrLog: LauncherLog = { error: (details, message) => process.stderr.write(`periscope: ${message} ${JSON.stringify(details)}\n`) };

export class SlurmLauncher extends EventEmitter<LauncherEvents> implements Launcher {
  readonly kind = 'slurm';
  readonly placer = new SlurmPlacer();
  private readonly cli: SlurmCli;
  private readonly jobs = new Map<string, TrackedJob>();
  private readonly byName = new Map<string, TrackedJob>();
  private readonly log: LauncherLog;
  private scripts: Promise<{ batch: string; step: string }> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private closed = false;
  private canceling = 0;
  private lastExitScan = 0;
  private lastQueueRead = 0;
  private unreachableSaid = false;
  private addresses = new Map<string, string>();
  private nodesRead: { at: number; nodes: Promise<SlurmNode[]> } | undefined;
  /** Wakes whoever waits for an executor to be reported (a cancel). */
  private readonly reported = new EventEmitter();

  constructor(private readonly options: SlurmLauncherOptions) {
    super();
    this.cli = new SlurmCli(options);
    this.log = options.log ?? stderrLog;
    this.reported.setMaxListeners(0);
  }

  /**
   * The cluster's nodes, read at most every NODES_TTL_MS: every new trial's placement check asks, and one
   * `scontrol` per create would cost more than the create itself. Concurrent callers share one read.
   */
  nodes(): Promise<SlurmNode[]> {
    if (this.nodesRead && Date.now() - this.nodesRead.at < NODES_TTL_MS) return this.nodesRead.nodes;
    const at = Date.now();
    const nodes = this.cli.nodes().then((out) => {
      const parsed = parseNodes(out);
      this.placer.nodes = parsed;
      this.addresses = new Map(parsed.map((n) => [n.name, n.address]));
      return parsed;
    });
    this.nodesRead = { at, nodes };
    // A failed read is not kept: the next caller asks again.
    nodes.catch(() => {
      if (this.nodesRead?.nodes === nodes) this.nodesRead = undefined;
    });
    return nodes;
  }

  /** What `scontrol ping` says of the controller (health). */
  async controller(): Promise<{ reachable: boolean; detail: string }> {
    try {
      const said = await this.cli.ping();
      return { reachable: /UP/.test(said), detail: said };
    } catch (error) {
      return { reachable: false, detail: (error as Error).message };
    }
  }

  private scriptPaths(): Promise<{ batch: string; step: string }> {
    this.scripts ??= (async () => {
      await mkdir(this.options.scriptDir, { recursive: true });
      const paths = { batch: join(this.options.scriptDir, 'periscope-batch.sh'), step: join(this.options.scriptDir, 'periscope-step.sh') };
      await writeFile(paths.batch, BATCH_SCRIPT, { mode: 0o755 });
      await writeFile(paths.step, STEP_SCRIPT, { mode: 0o755 });
      return paths;
    })();
    return this.scripts.catch((error: unknown) => {
      this.scripts = undefined;
      throw error;
    });
  }

  async submit(gang: GangSpec): Promise<ExecutorHandle[]> {
    // All or none: what would make a step fail to start is refused before anything is queued.
    for (const e of gang.executors) {
      const info = await stat(e.cwd).catch(() => null);
      if (!info?.isDirectory()) throw new Error(`the work dir ${e.cwd} of ${e.name} does not exist (it must be on a filesystem every Slurm node sees)`);
      launchFile({ cwd: e.cwd, env: e.env, argv: e.argv, stdout: '', stderr: '', exit: '' }); // throws on a name no shell takes
    }
    const scripts = await this.scriptPaths();
    // This submission's own name: a job of an earlier one of these executors (a crash kept it from being
    // recorded) finds another in their dirs and leaves (STEP_SCRIPT).
    const submission = randomUUID();
    const specs: StepSpec[] = gang.executors.map((e) => ({ cwd: e.cwd, argv: e.argv, env: e.env, userEnv: e.userEnv ?? null, role: e.role, rank: e.rank, replica: e.replica, framework: gang.distributed?.framework ?? null, submission }));
    for (const [i, e] of gang.executors.entries()) {
      await mkdir(e.logDir, { recursive: true });
      await writeAtomically(join(e.logDir, JOB_FILES.submission), `${submission}\n`);
      for (const file of [LOG_FILES.exit, JOB_FILES.landed, JOB_FILES.launch]) await rm(join(e.logDir, file), { force: true, recursive: true });
      await writeFile(join(e.logDir, SPEC_FILE), JSON.stringify(specs[i]));
    }
    const first = gang.executors[0]!;
    const args = sbatchArgs(gang, this.options.defaults ?? {}, scripts, join(first.logDir, 'slurm-job.out'));
    const jobId = await this.cli.sbatch(args, { ...sbatchEnv(first.cwd, this.options.env), PERISCOPE_SUBMISSION: submission });
    const executors = gang.executors.map((e, index) => trackedExecutor(e.name, index, e.rank, e.logDir, null));
    const job = trackedJob(jobId, gang.trialId, executors, specs);
    const handles = job.executors.map((e) => ({ name: e.name, handle: `${jobId}/${e.index}`, pid: null }));
    // Nothing runs before the server has stored the handles: the steps wait for launch files, written after.
    try {
      await gang.recorded?.(handles);
    } catch (error) {
      await this.cli.cancel(jobId).catch((cancelError: unknown) => this.log.error({ job: jobId, error: String(cancelError) }, 'slurm launcher: scancel of an unrecorded job failed'));
      throw error;
    }
    // A lone executor's environment does not depend on where it lands (it is its own rendezvous, reached over
    // loopback): its launch is written now, so it runs the moment Slurm starts it.
    if (job.executors.length === 1) await this.writeLaunch(job, [{ node: '', host: '127.0.0.1', port: portFor(jobId, first.rank), gpus: null }]);
    this.track(job);
    return handles;
  }

  private track(job: TrackedJob): void {
    this.jobs.set(job.id, job);
    for (const e of job.executors) this.byName.set(e.name, job);
    this.schedulePoll(0);
  }

  private schedulePoll(delayMs?: number): void {
    if (this.closed || this.jobs.size === 0) return;
    const wait = delayMs ?? (this.starting() ? (this.options.landedPollMs ?? 20) : (this.options.exitPollMs ?? 250));
    if (this.timer) {
      if (delayMs === undefined) return;
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.poll().finally(() => this.schedulePoll());
    }, wait);
  }

  private starting(): boolean {
    for (const job of this.jobs.values()) if (mayBeStarting(job)) return true;
    return false;
  }

  /** One look at every job; concurrent callers share it. */
  private poll(): Promise<void> {
    this.polling ??= this.pollOnce()
      .catch((error: unknown) => this.log.error({ error: (error as Error)?.stack ?? String(error) }, 'slurm launcher: watching jobs failed'))
      .finally(() => (this.polling = undefined));
    return this.polling;
  }

  /**
   * What each look costs is kept to what it needs: the files the steps write (landed, exit) are cheap to read
   * and tell starts and ends first; Slurm's queue, which costs the controller an RPC, is read less often, for
   * pending reasons and for ends a step cannot write (timeouts, node failures, cancels).
   */
  private async pollOnce(): Promise<void> {
    if (this.jobs.size === 0) return;
    const now = Date.now();
    for (const job of [...this.jobs.values()]) if (mayBeStarting(job)) await this.guard(job, () => this.watchStart(job));
    if (now - this.lastExitScan >= (this.options.exitPollMs ?? 250)) {
      this.lastExitScan = now;
      for (const job of [...this.jobs.values()]) if (job.launched) await this.guard(job, () => this.readExits(job));
    }
    const queueEvery = this.starting() || this.canceling > 0 ? (this.options.queuePollMs ?? 250) : (this.options.queuePollMs ?? 250) * 4;
    if (now - this.lastQueueRead < queueEvery) return;
    this.lastQueueRead = now;
    let rows: SlurmJobRow[];
    try {
      rows = await this.cli.jobs();
      if (this.unreachableSaid) this.log.error({}, 'slurm launcher: the Slurm controller answers again');
      this.unreachableSaid = false;
    } catch (error) {
      if (!this.unreachableSaid) this.log.error({ error: (error as Error).message }, 'slurm launcher: cannot read the job queue; executors are settled once it answers');
      this.unreachableSaid = true;
      return;
    }
    const byJob = new Map<string, SlurmJobRow[]>();
    for (const row of rows) (byJob.get(row.jobId) ?? byJob.set(row.jobId, []).get(row.jobId)!).push(row);
    for (const job of [...this.jobs.values()]) await this.guard(job, () => this.look(job, byJob.get(job.id)));
  }

  private async guard(job: TrackedJob, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.log.error({ job: job.id, error: (error as Error)?.stack ?? String(error) }, 'slurm launcher: looking at a job failed');
    }
  }

  /**
   * Ends the steps recorded themselves. A signaled one is left for the queue to explain: a time limit, a node
   * failure or a cancel from outside also ends the command by a signal, and the job's state says which.
   */
  private async readExits(job: TrackedJob): Promise<void> {
    for (const e of job.executors) {
      if (e.reported) continue;
      const code = await readExitFile(e.logDir);
      if (code === null) continue;
      if (code <= 128) this.report(job, e, code, null);
      else e.signaled = code;
    }
  }

  private async look(job: TrackedJob, rows: SlurmJobRow[] | undefined): Promise<void> {
    if (!rows || rows.length === 0) {
      // Forgotten by Slurm (ended more than MinJobAge ago, e.g. while the server was down): the files tell.
      if (++job.missing >= 2) await this.settleJob(job, null);
      return;
    }
    job.missing = 0;
    const state = jobState(rows);
    const reason = state === 'PENDING' ? (rows.map((r) => r.reason).find((r) => r && r !== 'None') ?? null) : null;
    // Waiting for a reason (Resources, Priority): nothing can land before the queue says otherwise. Just
    // submitted (reason None), it may be placed any moment, so its landing is still looked for.
    job.queued = reason !== null;
    if (state in ENDED) return this.settleJob(job, state);
    if (state === 'PENDING') {
      if (reason && reason !== job.pendingReason && job.trialId !== null) {
        job.pendingReason = reason;
        this.emitSafely('pending', { trialId: job.trialId, reason: `Slurm: ${reason}` });
      }
      return;
    }
    // Still running, not completing: a signaled step was the command's own end (or a single-step cancel).
    if (state === 'RUNNING') for (const e of job.executors) if (!e.reported && e.signaled !== undefined) this.report(job, e, e.signaled, null);
  }

  /**
   * Watches a gang start: each step says where it landed; once all have, their environment is computed from
   * there and the go-ahead (launch files) written; each executor is told started once it landed and launched.
   */
  private async watchStart(job: TrackedJob): Promise<void> {
    for (const e of job.executors) {
      if (e.landed || e.reported) continue;
      e.landed = await this.landingOf(job, e);
    }
    if (!job.launched) {
      if (job.executors.some((e) => !e.landed)) return;
      for (const e of job.executors) if (!this.addresses.has(e.landed!.node)) await this.nodes().catch(() => undefined);
      const landings: Landing[] = [];
      for (const e of job.executors) landings[e.rank] = { node: e.landed!.node, host: this.addresses.get(e.landed!.node) ?? e.landed!.node, port: portFor(job.id, e.rank), gpus: null };
      if (!(await this.writeLaunch(job, landings))) return;
    }
    for (const e of job.executors) {
      if (e.told || e.reported || !e.landed) continue;
      e.told = true;
      if (!e.canceled) this.emitSafely('started', { name: e.name, node: e.landed.node, host: this.addresses.get(e.landed.node) ?? e.landed.node, gpus: e.landed.gpus ?? [] });
    }
  }

  /** Where the executor's step landed, if it did: a landing of another submission of it (a stale job) is not. */
  private async landingOf(job: TrackedJob, e: TrackedExecutor): Promise<Landed | null> {
    const landed = await readLanded(e.logDir);
    if (landed === null) return null;
    const expected = (job.specs ??= await this.readSpecs(job))?.[e.index]?.submission;
    return expected === undefined || landed.submission === expected ? landed : null;
  }

  /** Writes every executor's launch file (atomically) from these landings; false when the job cannot be launched. */
  private async writeLaunch(job: TrackedJob, landings: Landing[]): Promise<boolean> {
    job.specs ??= await this.readSpecs(job);
    if (!job.specs) {
      // Re-attached, its steps waiting for a launch that nothing left on disk can make.
      this.log.error({ job: job.id }, 'slurm launcher: a job waits for a launch whose spec is gone; canceling it');
      await this.cli.cancel(job.id).catch(() => undefined);
      for (const e of job.executors) if (!e.reported) this.report(job, e, null, 'lost');
      return false;
    }
    const envs = stepEnvironments(job.specs, landings);
    for (const e of job.executors) {
      const spec = job.specs[e.index]!;
      const text = e.canceled ? 'exit 0\n' : launchFile({ cwd: spec.cwd, env: envs[e.index]!, argv: spec.argv, stdout: join(e.logDir, LOG_FILES.stdout), stderr: join(e.logDir, LOG_FILES.stderr), exit: join(e.logDir, LOG_FILES.exit), ...(spec.submission !== undefined && { submission: spec.submission }) });
      if (Buffer.byteLength(text) > MAX_LAUNCH_FILE_BYTES) throw new Error(`the environment and command of ${e.name} exceed ${MAX_LAUNCH_FILE_BYTES} bytes`);
      await writeAtomically(join(e.logDir, JOB_FILES.launch), text);
    }
    job.launched = true;
    return true;
  }

  /** The specs a re-attached job's executors were submitted with, or null when one is missing or damaged. */
  private async readSpecs(job: TrackedJob): Promise<StepSpec[] | null> {
    const specs: StepSpec[] = [];
    for (const e of job.executors) {
      const text = await readSmallFile(join(e.logDir, SPEC_FILE), MAX_LAUNCH_FILE_BYTES);
      try {
        const spec = JSON.parse(text ?? '') as StepSpec;
        if (typeof spec.cwd !== 'string' || !Array.isArray(spec.argv) || typeof spec.env !== 'object' || !Number.isInteger(spec.rank)) return null;
        e.rank = spec.rank;
        specs[e.index] = spec;
      } catch {
        return null;
      }
    }
    return specs;
  }

  private async allLaunchFiles(job: TrackedJob): Promise<boolean> {
    for (const e of job.executors) if ((await stat(join(e.logDir, JOB_FILES.launch)).catch(() => null)) === null) return false;
    return true;
  }

  /** The job is over (or forgotten): every executor not yet reported is, from its exit file and the job's state. */
  private async settleJob(job: TrackedJob, state: string | null): Promise<void> {
    for (const e of job.executors) {
      if (e.reported) continue;
      this.report(job, e, await readExitFile(e.logDir), state === null ? null : (ENDED[state] ?? null));
    }
  }

  private report(job: TrackedJob, e: TrackedExecutor, code: number | null, slurmCause: ExitCause | null): void {
    if (e.reported) return;
    e.reported = true;
    this.byName.delete(e.name);
    if (job.executors.every((x) => x.reported)) this.jobs.delete(job.id);
    this.emitSafely('exited', exitOf(e.name, code, null, e.canceled ? 'canceled' : slurmCause));
    this.reported.emit(e.name);
  }

  async cancel(names: string[], graceMs: number): Promise<void> {
    const targets = names.map((n) => ({ name: n, job: this.byName.get(n) })).filter((t): t is { name: string; job: TrackedJob } => t.job !== undefined);
    if (targets.length === 0) return;
    this.canceling++;
    try {
      const done = Promise.all(targets.map((t) => this.whenReported(t.name)));
      for (const job of new Set(targets.map((t) => t.job))) {
        const mine = job.executors.filter((e) => !e.reported && names.includes(e.name));
        for (const e of mine) e.canceled = true;
        const whole = job.executors.every((e) => e.reported || e.canceled);
        if (whole) await this.cli.cancel(job.id).catch((error: unknown) => this.log.error({ job: job.id, error: String(error) }, 'slurm launcher: scancel failed'));
        else await this.cancelSteps(job, mine, graceMs);
      }
      this.lastQueueRead = 0;
      this.schedulePoll(0);
      const deadline = new Promise<void>((resolve) => setTimeout(resolve, graceMs + 60_000).unref());
      await Promise.race([done, deadline]);
      // The controller never confirmed: the executors are reported canceled all the same, so nothing waits forever.
      for (const t of targets) {
        const e = t.job.executors.find((x) => x.name === t.name)!;
        if (!e.reported) this.report(t.job, e, await readExitFile(e.logDir), 'canceled');
      }
    } finally {
      this.canceling--;
    }
  }

  /** Some executors of a running gang: their steps get SIGTERM, SIGKILL after the grace; the rest run on. */
  private async cancelSteps(job: TrackedJob, executors: TrackedExecutor[], graceMs: number): Promise<void> {
    const landed = executors.filter((e) => e.landed);
    // Not landed yet: they get an empty launch when the gang lands, and never run.
    for (const e of executors) if (!e.landed) this.report(job, e, null, 'canceled');
    for (const e of landed) await this.cli.cancel(e.landed!.step, 'TERM').catch(() => undefined);
    const gone = async () => {
      const steps = await this.cli.steps().catch(() => null);
      return steps !== null && landed.every((e) => !steps.has(e.landed!.step));
    };
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && !(await gone())) await delay(50);
    for (const e of landed) if (!(await gone())) await this.cli.cancel(e.landed!.step, 'KILL').catch(() => undefined);
    for (let i = 0; i < 200 && !(await gone()); i++) await delay(50);
    for (const e of landed) this.report(job, e, await readExitFile(e.logDir), 'canceled');
  }

  private whenReported(name: string): Promise<void> {
    const job = this.byName.get(name);
    if (!job || job.executors.find((e) => e.name === name)?.reported) return Promise.resolve();
    return new Promise((resolve) => this.reported.once(name, () => resolve()));
  }

  async recover(executors: RecoverableExecutor[]): Promise<void> {
    const jobs = new Map<string, TrackedJob>();
    for (const r of executors) {
      const handle = r.handle !== null ? /^(\d+)\/(\d+)$/.exec(r.handle) : null;
      if (!handle) {
        // The server died between sbatch and storing the handle: the job cannot be found by it, and has run
        // nothing (no launch before the store). Abandoned here, it leaves at its next look (STEP_SCRIPT).
        await abandon(r.logDir);
        const e = trackedExecutor(r.name, 0, 0, r.logDir, null);
        this.report(trackedJob(`unknown-${r.name}`, null, [e], null), e, await readExitFile(r.logDir), null);
        continue;
      }
      const [, id, index] = handle;
      const job = jobs.get(id!) ?? jobs.set(id!, trackedJob(id!, null, [], null)).get(id!)!;
      job.executors.push(trackedExecutor(r.name, Number(index), Number(index), r.logDir, null));
    }
    for (const job of jobs.values()) {
      job.executors.sort((a, b) => a.index - b.index);
      for (const e of job.executors) e.landed = await this.landingOf(job, e);
      if (await this.allLaunchFiles(job)) job.launched = true;
      this.track(job);
    }
    await this.poll();
  }

  private emitSafely<K extends keyof LauncherEvents>(event: K, ...args: LauncherEvents[K]): void {
    try {
      (this.emit as (event: K, ...args: LauncherEvents[K]) => boolean)(event, ...args);
    } catch (error) {
      this.log.error({ event, error: (error as Error)?.stack ?? String(error) }, `slurm launcher: a listener of ${event} failed`);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.polling;
    // Jobs outlive the server by design: the next start re-attaches by job id.
    this.jobs.clear();
    this.byName.clear();
  }
}

function trackedJob(id: string, trialId: number | null, executors: TrackedExecutor[], specs: StepSpec[] | null): TrackedJob {
  return { id, trialId, executors, specs, launched: false, pendingReason: null, queued: false, missing: 0 };
}

function trackedExecutor(name: string, index: number, rank: number, logDir: string, landed: Landed | null): TrackedExecutor {
  return { name, index, rank, logDir, landed, canceled: false, reported: false, told: false };
}

/** Whether a job Slurm has not said is waiting may be starting now: some executor not yet told started. */
function mayBeStarting(job: TrackedJob): boolean {
  return !job.queued && job.executors.some((e) => !e.told && !e.reported);
}

/**
 * Each step's environment once the gang has landed: what the server gave it, the distributed-training variables
 * from where each rank is (when the engine computes them), and the user's own last.
 */
function stepEnvironments(specs: StepSpec[], landings: Landing[]): Record<string, string>[] {
  const framework = specs[0]?.framework ?? null;
  if (framework === null) return specs.map((s) => ({ ...s.env, ...s.userEnv }));
  // Executors canceled before the launch are not in the gang: their ranks take the first landing.
  const first = landings.find((l) => l !== undefined)!;
  const byRank: Landing[] = Array.from({ length: Math.max(landings.length, ...specs.map((s) => s.rank + 1)) }, (_, r) => landings[r] ?? first);
  const distributed = distributedEnv(specs, framework, byRank);
  return specs.map((s, i) => ({ ...s.env, ...distributed[i], ...s.userEnv }));
}

/** The job's state across its het components: an end that names a cause wins, then any still running. */
function jobState(rows: SlurmJobRow[]): string {
  const states = rows.map((r) => r.state);
  const causing = states.find((s) => ENDED[s]);
  if (causing) return causing;
  if (states.every((s) => s in ENDED)) return states.find((s) => s === 'FAILED') ?? states[0]!;
  return states.find((s) => s !== 'PENDING' && !(s in ENDED)) ?? 'PENDING';
}

/** What sbatch runs with, and so (with --export=ALL) what every step inherits: no Slurm job of the server's own. */
function sbatchEnv(cwd: string, base: NodeJS.ProcessEnv | undefined): NodeJS.ProcessEnv {
  const env = executorEnv({ cwd, env: {} });
  for (const name of Object.keys(env)) if (name.startsWith('SLURM_')) delete env[name];
  return { ...env, ...base };
}

/** Replaces a file whole: a reader finds the old text or the new, never a part. */
async function writeAtomically(path: string, text: string): Promise<void> {
  await writeFile(`${path}.tmp`, text);
  await rename(`${path}.tmp`, path);
}

/** Tells a job of an executor that no server stands behind it to leave (its submission file names none). */
async function abandon(logDir: string): Promise<void> {
  const path = join(logDir, JOB_FILES.submission);
  if ((await stat(path).catch(() => null)) !== null) await writeAtomically(path, 'abandoned\n');
}

/** What the step wrote on landing (a few short lines), or null while it has not. */
async function readLanded(logDir: string): Promise<Landed | null> {
  const text = await readSmallFile(join(logDir, JOB_FILES.landed), 4096);
  return text === null ? null : parseLanded(text);
}


