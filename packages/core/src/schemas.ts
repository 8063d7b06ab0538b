/**
 * Wire schemas shared by the server (validation, OpenAPI), the SDK and the CLI. Request schemas are lenient
 * where real Submarine clients are (they echo `resourceMap`, `cpu`, `memory`, `gpu`, `experimentId` back, and
 * omit optional fields); semantic checks that JSON Schema cannot say well live in spec.ts.
 */
import Type from 'typebox';
import { SearcherConfigSchema } from './search/config.js';
import { HyperparameterSpace } from './search/hyperparameters.js';
import type { SearcherConfig } from './search/types.js';

export const Nullable = <T extends Type.TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const Opt = <T extends Type.TSchema>(schema: T) => Type.Optional(Nullable(schema));

export const EnvVars = Type.Record(Type.String(), Type.String(), {
  description: 'Environment variables, name → value.',
});
export type EnvVars = Type.Static<typeof EnvVars>;

export const KernelSpec = Type.Object({
  name: Opt(Type.String()),
  channels: Opt(Type.Array(Type.String())),
  condaDependencies: Opt(Type.Array(Type.String())),
  pipDependencies: Opt(Type.Array(Type.String())),
});
export type KernelSpec = Type.Static<typeof KernelSpec>;

export const EnvironmentSpec = Type.Object(
  {
    name: Opt(Type.String({ maxLength: 128 })),
    dockerImage: Opt(Type.String()),
    kernelSpec: Opt(KernelSpec),
    description: Opt(Type.String()),
    image: Opt(Type.String()),
  },
  { description: 'Anonymous (`image`/`dockerImage`) or predefined (`name` of a stored environment).' },
);
export type EnvironmentSpec = Type.Static<typeof EnvironmentSpec>;

export const ExperimentMeta = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 128, description: 'Experiment name; lowercased on create.' }),
  namespace: Opt(Type.String({ description: 'Ignored, as in Submarine: the echo shows the server namespace.' })),
  framework: Type.String({ minLength: 1, description: 'TensorFlow, PyTorch, XGBoost or Custom (any case).' }),
  cmd: Opt(Type.String({ description: 'Command run by every role without its own cmd.' })),
  envVars: Opt(EnvVars),
  tags: Opt(Type.Array(Type.String({ maxLength: 128 }))),
  description: Opt(Type.String()),
  experimentId: Opt(Type.String({ description: 'Ignored: set by the server.' })),
});
export type ExperimentMeta = Type.Static<typeof ExperimentMeta>;

export const ExperimentTaskSpec = Type.Object({
  replicas: Type.Optional(Type.Integer({ minimum: 1, maximum: 1024, default: 1 })),
  resources: Opt(Type.String({ maxLength: 1024, description: 'e.g. `cpu=1,memory=2048M,gpu=1`.' })),
  name: Opt(Type.String()),
  image: Opt(Type.String()),
  cmd: Opt(Type.String({ description: "Overrides meta.cmd for this role's replicas." })),
  envVars: Opt(EnvVars),
  nodes: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 253 }), { minItems: 1, maxItems: 1000, description: 'Pin the replicas to these nodes.' })),
  nodeSelector: Type.Optional(Type.Record(Type.String({ maxLength: 128 }), Type.String({ maxLength: 256 }), { description: 'Only nodes whose labels have these values.' })),
  pipeline: Type.Optional(
    Type.Array(Type.Array(Type.String({ minLength: 1, maxLength: 65536 }), { minItems: 1, maxItems: 256 }), {
      minItems: 1,
      maxItems: 256,
      description: 'Instead of cmd: stages of commands; the commands of a stage run in parallel, the next stage starts when all have succeeded.',
    }),
  ),
  // Echoed by clients that PATCH what they got; accepted and recomputed.
  resourceMap: Type.Optional(Type.Unknown()),
  cpu: Type.Optional(Type.Unknown()),
  memory: Type.Optional(Type.Unknown()),
  gpu: Type.Optional(Type.Unknown()),
});
export type ExperimentTaskSpec = Type.Static<typeof ExperimentTaskSpec>;

export const GitCodeSpec = Type.Object({
  url: Type.String({ minLength: 1 }),
  branch: Opt(Type.String()),
  username: Opt(Type.String()),
  password: Opt(Type.String()),
  trustCerts: Opt(Type.Boolean()),
});

export const CodeSpec = Type.Object(
  {
    syncMode: Type.String({ description: '`git` (clone `url` or `git.url`) or `upload` (url = sha256 of an uploaded archive).' }),
    url: Opt(Type.String({ minLength: 1 })),
    git: Opt(GitCodeSpec),
  },
  { description: 'Both Submarine shapes: 0.7 `{syncMode, url}` and 0.8 `{syncMode, git: {url, branch, …}}`.' },
);
export type CodeSpec = Type.Static<typeof CodeSpec>;

/** Slurm settings of one experiment; they override the server's `--slurm-*` defaults (ignored by other launchers). */
export const SlurmOptions = Type.Object(
  {
    partition: Type.Optional(Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.,-]+$' })),
    account: Type.Optional(Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.-]+$' })),
    qos: Type.Optional(Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.-]+$' })),
    extraArgs: Type.Optional(Type.Array(Type.String({ minLength: 2, maxLength: 512, pattern: '^--[A-Za-z]' }), { maxItems: 32, description: 'Extra sbatch options, each `--name=value`.' })),
  },
  { additionalProperties: false },
);
export type SlurmOptions = Type.Static<typeof SlurmOptions>;

export const ExperimentSpec = Type.Object({
  meta: ExperimentMeta,
  environment: Opt(EnvironmentSpec),
  spec: Type.Record(Type.String(), ExperimentTaskSpec, { description: 'Task roles (Ps, Worker, Chief, Master, …).' }),
  code: Opt(CodeSpec),
  experimentHandlerSpec: Opt(Type.Record(Type.String(), Type.String())),
  autoStart: Type.Optional(Type.Boolean({ description: 'Start as soon as prepared (default true).' })),
  priority: Type.Optional(Type.Integer({ minimum: -1000, maximum: 1000, description: 'Higher runs first (default 0).' })),
  maxRestarts: Type.Optional(Type.Integer({ minimum: 0, maximum: 100, description: 'Retries of a failed trial (default 0).' })),
  timeLimit: Type.Optional(Type.Integer({ minimum: 1, maximum: 31_536_000, description: 'Wall-clock limit of each trial run, in seconds; past it the trial ends with cause timeout (Slurm: --time).' })),
  slurm: Type.Optional(SlurmOptions),
  hyperparameters: Type.Optional(HyperparameterSpace),
  searcher: Type.Optional(SearcherConfigSchema),
});
export type ExperimentSpec = Type.Static<typeof ExperimentSpec>;

/** The spec as the server echoes it: every optional field present (null when absent), `resourceMap` computed. */
export interface NormalizedTaskSpec {
  replicas: number;
  resources: string | null;
  name: string | null;
  image: string | null;
  cmd: string | null;
  envVars: Record<string, string> | null;
  resourceMap: Record<string, string>;
  nodes?: string[];
  nodeSelector?: Record<string, string>;
  pipeline?: string[][];
}

export interface NormalizedExperimentSpec {
  meta: {
    experimentId: string | null;
    name: string;
    namespace: string;
    framework: string;
    cmd: string | null;
    envVars: Record<string, string>;
    tags: string[];
    description?: string;
  };
  environment: {
    name: string | null;
    dockerImage: string | null;
    kernelSpec: KernelSpec | null;
    description: string | null;
    image: string | null;
  };
  spec: Record<string, NormalizedTaskSpec>;
  code: CodeSpec | null;
  experimentHandlerSpec?: Record<string, string>;
  autoStart?: boolean;
  priority?: number;
  maxRestarts?: number;
  timeLimit?: number;
  slurm?: SlurmOptions;
  hyperparameters?: HyperparameterSpace;
  /** With defaults filled in (and `maxTime` folded into `maxLength`). */
  searcher?: SearcherConfig;
}

export const NullableTime = Nullable(Type.String({ description: 'ISO-8601 with offset; null until reached.' }));

/** An experiment's status as Submarine's wire says it. */
export const SubmarineStatusSchema = Type.Union([
  Type.Literal('Accepted'),
  Type.Literal('Created'),
  Type.Literal('Running'),
  Type.Literal('Succeeded'),
  Type.Literal('Failed'),
  Type.Literal('Deleted'),
]);

export const Experiment = Type.Object({
  experimentId: Type.String({ examples: ['experiment-1647574374688-0002'] }),
  uid: Type.String({ format: 'uuid' }),
  status: SubmarineStatusSchema,
  acceptedTime: NullableTime,
  createdTime: NullableTime,
  runningTime: NullableTime,
  finishedTime: NullableTime,
  spec: Type.Unknown({ description: 'The normalized ExperimentSpec.' }),
});
export type Experiment = Omit<Type.Static<typeof Experiment>, 'spec'> & { spec: NormalizedExperimentSpec };

export const PodLog = Type.Object({ podName: Type.String(), podLog: Type.Array(Type.String()) });
export const ExperimentLog = Type.Object({ experimentId: Type.String(), logContent: Type.Array(PodLog) });
export type ExperimentLog = Type.Static<typeof ExperimentLog>;

export const Environment = Type.Object({
  environmentId: Type.String({ examples: ['environment_1647574374688_0001'] }),
  environmentSpec: Type.Unknown(),
});
export interface Environment {
  environmentId: string;
  environmentSpec: NormalizedEnvironmentSpec;
}
export type NormalizedEnvironmentSpec = NormalizedExperimentSpec['environment'];

export const CreateEnvironmentRequest = Type.Intersect([
  EnvironmentSpec,
  Type.Object({ name: Type.String({ minLength: 1, maxLength: 128 }) }),
]);

/** Submarine's envelope; `success` is null (not false) on errors, as the real server sends it. */
export const Envelope = <T extends Type.TSchema>(result: T) =>
  Type.Object({
    status: Type.String({ examples: ['OK'] }),
    code: Type.Integer({ examples: [200] }),
    success: Nullable(Type.Boolean()),
    message: Nullable(Type.String()),
    result: Nullable(result),
    attributes: Type.Record(Type.String(), Type.Unknown()),
  });

export const ErrorEnvelope = Envelope(Type.Null());

export interface EnvelopeOf<T> {
  status: string;
  code: number;
  success: boolean | null;
  message: string | null;
  result: T;
  attributes: Record<string, unknown>;
}

export const ExperimentIdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
export const NameParams = Type.Object({ name: Type.String({ maxLength: 128 }) });

export const ListExperimentsQuery = Type.Object({
  status: Type.Optional(Type.String({ description: 'Submarine status, any case: Accepted, Created, Running, Succeeded, Failed, Deleted.' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'Page size; absent = every experiment (Submarine behaviour).' })),
  after: Type.Optional(Type.String({ maxLength: 64, description: 'Cursor: the `nextCursor` attribute of the previous page.' })),
});
export type ListExperimentsQuery = Type.Static<typeof ListExperimentsQuery>;

const NullableString = Nullable(Type.String());

export const Executor = Type.Object({
  name: Type.String({ description: 'Pod name: `<experimentId>-<role>-<replica>` (trial 1).' }),
  role: Type.String(),
  replica: Type.Integer(),
  rank: Type.Integer(),
  node: NullableString,
  state: Type.String({ description: 'Pending, Running, Succeeded, Failed, Canceled or Lost.' }),
  pid: Nullable(Type.Integer()),
  exitCode: Nullable(Type.Integer()),
  signal: NullableString,
  cause: Nullable(Type.String({ description: 'How it ended, in words, when not a plain exit.' })),
  gpus: Type.Array(Type.Integer()),
  handle: Type.Optional(Nullable(Type.String({ description: "The launcher's handle: a pid (local) or a Slurm job and step id." }))),
  startedTime: NullableString,
  finishedTime: NullableString,
});
export type Executor = Type.Static<typeof Executor>;

export const Trial = Type.Object({
  id: Type.Integer(),
  experimentId: Type.String(),
  number: Type.Integer(),
  state: Type.String({ description: 'Queued, Preparing, Running, Succeeded, Failed or Canceled.' }),
  restarts: Type.Integer(),
  hparams: Type.Record(Type.String(), Type.Unknown()),
  message: NullableString,
  queuedTime: NullableString,
  startedTime: NullableString,
  finishedTime: NullableString,
  stepsCompleted: Type.Optional(Nullable(Type.Number({ description: 'The most steps a report of this trial completed.' }))),
  bestValidation: Type.Optional(Nullable(Type.Number({ description: "Best value of the searcher's metric among validation reports." }))),
  latestValidation: Type.Optional(Nullable(Type.Number())),
  latestCheckpoint: Type.Optional(NullableString),
  executors: Type.Array(Executor),
});
export type Trial = Type.Static<typeof Trial>;

export const LogLine = Type.Object({
  executor: Type.String(),
  rank: Type.Integer(),
  stream: Type.Union([Type.Literal('stdout'), Type.Literal('stderr')]),
  time: Type.String({ description: 'When the server saw the chunk holding the line (ISO-8601).' }),
  level: NullableString,
  text: Type.String(),
  offset: Type.Integer({ description: 'Byte offset in its stream: a position to resume from.' }),
});
export type LogLine = Type.Static<typeof LogLine>;

export const ExecutionStatus = Type.Union([Type.Literal('UNKNOWN'), Type.Literal('PREPARING'), Type.Literal('READY'), Type.Literal('RUNNING'), Type.Literal('FINISHED')]);

export const PipelineStep = Type.Object({
  stage: Type.Integer(),
  index: Type.Integer(),
  command: Type.String(),
  exitCode: Nullable(Type.Integer({ description: 'null while it runs, or when it was stopped before it could record one' })),
  durationMs: Nullable(Type.Integer()),
  lastLines: Type.Array(Type.String(), { description: 'The last lines of its output (stdout and stderr together).' }),
});
export type PipelineStep = Type.Static<typeof PipelineStep>;

export const ExecutorResult = Type.Object({
  executor: Type.String(),
  role: Type.String(),
  rank: Type.Integer(),
  node: NullableString,
  state: Type.String(),
  exitCode: Nullable(Type.Integer()),
  error: NullableString,
  pipeline: Type.Optional(Type.Array(PipelineStep)),
});
export type ExecutorResult = Type.Static<typeof ExecutorResult>;

/** netunicorn's view of an execution: its status, the experiment, and per-executor results once it ran. */
export const ExecutionInfo = Type.Object({
  name: Type.String(),
  status: ExecutionStatus,
  experiment: Experiment,
  executionResult: Nullable(Type.Array(ExecutorResult)),
});
export type ExecutionInfo = Omit<Type.Static<typeof ExecutionInfo>, 'experiment'> & { experiment: Experiment };
