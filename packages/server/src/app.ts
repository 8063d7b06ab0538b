import fastifyCookie from '@fastify/cookie';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { IdGenerator, PeriscopeError } from '@periscope/core';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { CodeStore } from './code/code-store.js';
import { CodeSync } from './code/code-sync.js';
import { codeRoutes } from './code/routes.js';
import { trainingRoutes } from './checkpoints/routes.js';
import { TrainingService } from './checkpoints/service.js';
import { KeptCheckpoints } from './checkpoints/kept.js';
import { CheckpointStore } from './checkpoints/store.js';
import { dashboardRoutes } from './dashboard/routes.js';
import { DeterminedConfigStore } from './determined/config-store.js';
import { determinedRoutes } from './determined/routes.js';
import { LiveFeed } from './dashboard/live-feed.js';
import { Summaries } from './dashboard/summaries.js';
import { openDatabase, type Db } from './db/database.js';
import { migrations } from './db/migrations.js';
import { MetricStore } from './metrics/store.js';
import { modelRoutes } from './models/routes.js';
import { ModelService } from './models/service.js';
import { ModelStore } from './models/store.js';
import type { CapacityOverrides } from './execution/capacity.js';
import type { LauncherConfig } from './config.js';
import { Execution } from './execution/execution.js';
import { EngineLease } from './execution/engine-lease.js';
import { environmentRoutes } from './environments/routes.js';
import { EnvironmentService } from './environments/service.js';
import { EnvironmentStore } from './environments/store.js';
import { experimentRoutes } from './experiments/routes.js';
import { openCode } from './experiments/secrets.js';
import { ExperimentService } from './experiments/service.js';
import { ExperimentStore } from './experiments/store.js';
import { StoreHealth } from './health/checks.js';
import { healthRoutes } from './health/routes.js';
import { installContentTypes } from './http/content-types.js';
import { installAuth, type ApiRoute, type AuthMode } from './http/auth.js';
import { installErrorHandling } from './http/errors.js';
import { installOpenApi } from './http/openapi.js';
import { validatorCompiler } from './http/validation.js';
import { serveWebApp } from './http/web-app.js';
import { registerEventStreams } from './http/sse.js';
import { executionRoutes } from './netunicorn/routes.js';
import { ExecutionService } from './netunicorn/service.js';
import { NetunicornBlobStore } from './netunicorn/blob-store.js';
import { netunicornRoutes } from './netunicorn/face-routes.js';
import { flagRoutes } from './flags/routes.js';
import { FlagService } from './flags/service.js';
import { FlagStore } from './flags/store.js';
import { nodeRoutes } from './nodes/routes.js';
import { SecretBox } from './secrets/secret-box.js';
import { trialRoutes } from './trials/routes.js';
import { TrialService } from './trials/service.js';
import { isTrialFinished, TrialStore } from './trials/store.js';
import { Owners } from './users/owners.js';
import { userRoutes } from './users/routes.js';
import { UserService } from './users/service.js';
import { UserStore } from './users/store.js';
import { VERSION } from './version.js';

/**
 * The dashboard's build: web/ beside dist/ in the published package, else packages/web/dist in the workspace (the
 * same two levels up from this module as source, src/, and as the bundle, dist/).
 */
const WEB_ROOTS = ['../web/', '../../web/dist/'].map((path) => fileURLToPath(new URL(path, import.meta.url)));
const DEFAULT_WEB_ROOT = WEB_ROOTS.find((dir) => existsSync(join(dir, 'index.html'))) ?? WEB_ROOTS[1]!;

export interface AppOptions {
  /** A SQLite file path or a `postgres://` URL. */
  database: string;
  /** Where logs, work dirs and uploaded code live (the server's data dir). */
  dataDir: string;
  /** Largest accepted request body in bytes (default 1 MiB). */
  bodyLimit?: number;
  /** Overrides of the detected CPUs, memory and GPUs of this node. */
  capacity?: CapacityOverrides;
  /** Which engine runs executors (default local). */
  launcher?: LauncherConfig;
  /** SIGTERM → SIGKILL grace period when stopping executors, in ms (default 10 s). */
  graceMs?: number;
  logger?: FastifyServerOptions['logger'];
  /** `token` (default): every API route but health and login needs a bearer token. `none`: everyone is admin. */
  auth?: AuthMode;
  /** PEM certificate and key: serve HTTPS. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** How long a login session lasts, in ms (default 30 days). */
  sessionTtlMs?: number;
  /** scrypt's N for new password hashes (default 16384); tests lower it to keep thousands of users cheap. */
  passwordCost?: number;
  /**
   * Requests wait, once listening, until `open()` is called (default: answered at once); so does the recovery
   * of a previous run's work, because the trials it launches need the API's URL, known only once listening.
   */
  holdRequests?: boolean;
  /** How often an idle event stream gets a heartbeat comment, in ms (default 15 s). */
  sseHeartbeatMs?: number;
  /** How often an idle log follower checks whether its trial has ended, in ms (default 250; its end wakes it anyway). */
  followCheckMs?: number;
  /** The dashboard's build, served at `/` (default packages/web/dist). */
  webRoot?: string;
}

export interface App {
  http: FastifyInstance;
  db: Db;
  experiments: ExperimentService;
  environments: EnvironmentService;
  /** Brings an experiment's code (git or uploaded archive) into a work dir. */
  code: CodeSync;
  execution: Execution;
  trials: TrialService;
  training: TrainingService;
  users: UserService;
  /** Every API route with who may call it (http/route-policies.ts). */
  routes: readonly ApiRoute[];
  /** The first admin this start created, with its password (to be shown once); undefined when it existed. */
  firstAdmin: { username: string; password: string } | undefined;
  /** With `holdRequests`: recovers a previous run's work (call setApiUrl first), then lets held requests through. */
  open(): Promise<void>;
  close(): Promise<void>;
}

export async function createApp(options: AppOptions): Promise<App> {
  // Logs, work dirs and the key file are the server's; a data dir it creates is closed to other users.
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  // Before the database: a key file that must not be used stops the start before anything is touched.
  const secrets = await SecretBox.load(options.dataDir);
  const db = await openDatabase(options.database);
  try {
    return await assemble(db, secrets, options);
  } catch (error) {
    await db.close();
    throw error;
  }
}

async function assemble(db: Db, secrets: SecretBox, options: AppOptions): Promise<App> {
  // First, so the SQLite file's identity is the one just opened.
  const storeHealth = await StoreHealth.create(db, { file: db.dialect === 'sqlite' ? options.database : undefined, migrations: Object.keys(migrations(db.dialect)) });
  const experimentStore = new ExperimentStore(db.kysely);
  const environmentStore = new EnvironmentStore(db.kysely);
  const environments = new EnvironmentService(
    environmentStore,
    new IdGenerator('environment', '_', startMillisAfter((await environmentStore.list()).at(-1)?.environmentId)),
  );
  const codeStore = new CodeStore(options.dataDir);
  const code = new CodeSync(options.dataDir, { store: codeStore, open: (stored) => openCode(secrets, stored) });
  const trialStore = new TrialStore(db.kysely);
  const users = new UserService(new UserStore(db.kysely), {
    trialFinished: async (trialId) => {
      const trial = await trialStore.get(trialId);
      return !trial || isTrialFinished(trial.state);
    },
    ...(options.sessionTtlMs !== undefined && { sessionTtlMs: options.sessionTtlMs }),
    ...(options.passwordCost !== undefined && { passwordCost: options.passwordCost }),
  });
  // Before anything runs: recovery may launch trials, whose task tokens act as their owner, and under
  // --auth none every request acts as the first admin, who must therefore exist in that mode too.
  const firstAdmin = options.auth === 'none' ? await users.ensureNoAuthAdmin() : await users.ensureFirstAdmin();

  const http = Fastify({
    ...(options.tls && { https: { cert: options.tls.cert, key: options.tls.key } }),
    logger: options.logger ?? false,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    // Per-request lines would dominate the log and the API's cost; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    // Clients built from a host with a trailing slash request `//api/v1/...`.
    routerOptions: { ignoreDuplicateSlashes: true, ignoreTrailingSlash: true },
  }).withTypeProvider<TypeBoxTypeProvider>();
  // Held requests wait here, first of all hooks, until open(): whoever polls the port until it answers then
  // finds what the server files at start (the first admin's credentials) already there.
  let release: () => void = () => {};
  if (options.holdRequests) {
    const opened = new Promise<void>((resolve) => (release = resolve));
    http.addHook('onRequest', async () => {
      await opened;
    });
  }
  http.setValidatorCompiler(validatorCompiler);
  // Response schemas document the API; serialization stays plain JSON so no field is ever dropped.
  http.setSerializerCompiler(() => (data) => JSON.stringify(data));
  installContentTypes(http);
  installErrorHandling(http);
  // Before the auth hook, which reads the browser's session cookie.
  await http.register(fastifyCookie);
  const kept = new KeptCheckpoints(join(options.dataDir, 'registry'));
  const owners = new Owners(db.kysely, kept);
  const routes = installAuth(http, options.auth ?? 'token', users, owners);
  await installOpenApi(http, VERSION);

  const execution = await Execution.create({
    dataDir: options.dataDir,
    experiments: experimentStore,
    trials: trialStore,
    environments: environmentStore,
    code,
    ...(options.capacity && { capacity: options.capacity }),
    ...(options.launcher && { launcher: options.launcher }),
    ...(options.graceMs !== undefined && { graceMs: options.graceMs }),
    ...(options.followCheckMs !== undefined && { followCheckMs: options.followCheckMs }),
    taskTokens: {
      issue: (owner, trialId, experimentId) => users.issueTaskToken(owner, trialId, experimentId),
      revoke: (trialId) => users.revokeTrialTokens(trialId),
    },
    log: http.log,
  });
  const experiments = new ExperimentService(
    experimentStore,
    environments,
    new IdGenerator('experiment', '-', startMillisAfter(await experimentStore.lastId())),
    execution,
    secrets,
  );
  const trials = new TrialService(
    trialStore,
    execution.logs,
    () => execution.launcher.placer.pendingReasons(),
    (trialId) => (ended) => execution.bus.on('trial.finished', ({ trial }) => trial.id === trialId && ended()),
  );
  const flags = new FlagService(new FlagStore(db.kysely));
  const modelStore = new ModelStore(db.kysely, db.dialect);
  const training = new TrainingService(trialStore, experimentStore, new MetricStore(db.kysely, db.dialect), new CheckpointStore(db.kysely), execution.layout, kept, execution.bus, (uuid) =>
    modelStore.versionsOfCheckpoint(uuid),
  );
  experiments.keep = (id) => training.keepHeld(id);
  const models = new ModelService(modelStore, training);
  const summaries = new Summaries(experimentStore, trialStore);
  const feed = new LiveFeed(experimentStore, trialStore, summaries, execution.bus, http.log);
  const executions = new ExecutionService(experiments, experimentStore, trialStore, execution.orchestrator, execution.layout);

  const startedAt = Date.now();
  await registerEventStreams(http, options.sseHeartbeatMs);
  await http.register(
    healthRoutes({
      version: VERSION,
      database: db.dialect,
      startedAt,
      store: () => storeHealth.problem(),
      launcher: async () => {
        const { launcher } = execution;
        const controller = await launcher.controller?.();
        if (controller && !controller.reachable) throw new PeriscopeError('SERVICE_UNAVAILABLE', `The ${launcher.kind} controller is not reachable: ${controller.detail}`);
        let nodes;
        try {
          nodes = await launcher.nodes();
        } catch (error) {
          throw new PeriscopeError('SERVICE_UNAVAILABLE', `The ${launcher.kind} launcher cannot list its nodes: ${(error as Error).message}`);
        }
        const usage = execution.scheduler.usage();
        return { kind: launcher.kind, nodes: nodes.length, runningTrials: usage.placed, queuedTrials: usage.queued, ...(controller && { controller: controller.detail }) };
      },
    }),
  );
  await http.register(experimentRoutes(experiments, trials));
  await http.register(trialRoutes(trials));
  await http.register(flagRoutes(flags, experiments));
  await http.register(trainingRoutes(training));
  await http.register(modelRoutes(models, owners));
  await http.register(userRoutes(users, { secureCookies: options.tls !== undefined }));
  await http.register(executionRoutes(executions));
  await http.register(nodeRoutes(execution));
  await http.register(environmentRoutes(environments));
  await http.register(codeRoutes(codeStore));
  await http.register(dashboardRoutes(summaries, feed, experiments, owners));
  await http.register(
    determinedRoutes({
      experiments,
      experimentStore,
      configs: new DeterminedConfigStore(db.kysely),
      trials,
      training,
      models,
      users,
      owners,
      code: codeStore,
      layout: execution.layout,
      version: VERSION,
      authMode: options.auth ?? 'token',
    }),
  );
  await http.register(
    netunicornRoutes({
      executions,
      experimentStore,
      trials: trialStore,
      blobs: new NetunicornBlobStore(db.kysely),
      flags,
      users,
      execution,
      authMode: options.auth ?? 'token',
    }),
  );
  await serveWebApp(http, options.webRoot ?? DEFAULT_WEB_ROOT);
  await http.ready();
  // One engine per database (issue 14 §5): another server's engine on this store refuses this start.
  let lease: EngineLease;
  try {
    lease = await EngineLease.take(options.database, { log: http.log });
  } catch (error) {
    await http.close();
    await execution.close();
    throw error;
  }
  // Survivors of a previous run are re-attached before anything new is scheduled beside them: here, or in
  // open() while requests are held.
  if (!options.holdRequests) await execution.recover();

  let opening: Promise<void> | undefined;
  let closing: Promise<void> | undefined;
  return {
    http,
    db,
    experiments,
    environments,
    code,
    execution,
    trials,
    training,
    users,
    routes,
    firstAdmin,
    open() {
      opening ??= options.holdRequests ? execution.recover().then(release) : Promise.resolve();
      return opening;
    },
    // Once: a second call (a test's own, then its cleanup) waits for the first.
    close() {
      closing ??= (async () => {
        // Open event streams end first, or closing the server would wait for their clients to leave.
        feed.close();
        await http.close();
        await execution.close();
        await lease.release();
        await db.close();
      })();
      return closing;
    },
  };
}

/**
 * Ids embed the server start millis; starting after the newest stored id keeps them unique even when two
 * starts fall in the same millisecond or the clock went backwards.
 */
function startMillisAfter(lastId: string | undefined): number {
  const last = Number(lastId?.split(/[-_]/)[1] ?? 0);
  return Math.max(Date.now(), last + 1);
}
