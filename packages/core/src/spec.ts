/**
 * Semantic validation and normalization of an ExperimentSpec (after JSON Schema has checked its shape):
 * what Submarine enforces only by crashing, we refuse with a 400 naming the field.
 */
import { ValidationError } from './errors.js';
import { parseResources, type Resources } from './resources.js';
import { resolveSearcherConfig, validateSearcherConfig } from './search/config.js';
import { validateHyperparameters } from './search/hyperparameters.js';
import type {
  CodeSpec,
  EnvironmentSpec,
  ExperimentSpec,
  NormalizedEnvironmentSpec,
  NormalizedExperimentSpec,
  NormalizedTaskSpec,
} from './schemas.js';

/** Role keys each framework accepts, with Submarine's exact case. `Custom` takes any role name. */
export const FRAMEWORK_ROLES: Readonly<Record<string, readonly string[] | null>> = {
  TensorFlow: ['Ps', 'Worker', 'Chief', 'Master', 'Evaluator'],
  PyTorch: ['Master', 'Worker'],
  XGBoost: ['Master', 'Worker'],
  Custom: null,
};
const CUSTOM_ROLE = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/;
/** An environment variable name any shell takes (what `export NAME=…` accepts). */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const EXPERIMENT_NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/;
export const ENVIRONMENT_NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/;
const SHA256 = /^[0-9a-f]{64}$/;
export const CODE_SYNC_MODES = ['git', 'upload'] as const;

/** The server's namespace, echoed whatever the client sends (Submarine ignores the client value too). */
export const DEFAULT_NAMESPACE = 'default';

/** One role as the scheduler sees it: numeric resources and the command and env its replicas run with. */
export interface RolePlan {
  role: string;
  replicas: number;
  resources: Resources;
  /** The command, or '' when the role runs a pipeline. */
  cmd: string;
  pipeline: string[][] | null;
  nodes: string[] | null;
  nodeSelector: Record<string, string> | null;
  image: string | null;
  envVars: Record<string, string>;
}

export interface NormalizeOptions {
  /** Submarine lowercases the name on create but not on patch. */
  lowercaseName: boolean;
  experimentId: string | null;
}

export function normalizeExperimentSpec(input: ExperimentSpec, options: NormalizeOptions): NormalizedExperimentSpec {
  const meta = input.meta;
  if (!EXPERIMENT_NAME.test(meta.name)) {
    throw new ValidationError(
      `meta.name: "${meta.name}" must start and end with a letter or digit and contain only letters, digits, '.', '_' and '-'`,
      'meta.name',
    );
  }
  const framework = canonicalFramework(meta.framework);
  checkEnvVars(meta.envVars, 'meta.envVars');

  const roles = Object.entries(input.spec);
  if (roles.length === 0) throw new ValidationError('spec: at least one task role is required (e.g. "Worker")', 'spec');
  const allowed = FRAMEWORK_ROLES[framework];
  const spec: Record<string, NormalizedTaskSpec> = {};
  for (const [role, task] of roles) {
    const field = `spec.${role}`;
    if (allowed ? !allowed.includes(role) : !CUSTOM_ROLE.test(role)) {
      throw new ValidationError(
        allowed
          ? `Unrecognized replica type name: ${role}, it should be ${allowed.join(',')} for ${framework} experiment.`
          : `${field}: role name "${role}" must start with a letter and contain only letters, digits, '_' and '-'`,
        field,
      );
    }
    const { resourceMap } = parseResources(task.resources, `${field}.resources`);
    checkEnvVars(task.envVars, `${field}.envVars`);
    if (task.pipeline != null) {
      if (task.cmd != null) throw new ValidationError(`${field}: give either cmd or pipeline, not both`, `${field}.pipeline`);
      task.pipeline.forEach((stage, i) =>
        stage.forEach((command, j) => {
          if (!nonBlank(command)) throw new ValidationError(`${field}.pipeline[${i}][${j}]: must not be blank`, `${field}.pipeline`);
        }),
      );
    } else if (task.cmd == null && !nonBlank(meta.cmd)) {
      throw new ValidationError(`meta.cmd: required unless every role has its own cmd or pipeline (${field} has none)`, 'meta.cmd');
    }
    if (task.cmd != null && !nonBlank(task.cmd)) throw new ValidationError(`${field}.cmd: must not be blank`, `${field}.cmd`);
    const normalizedTask: NormalizedTaskSpec = {
      replicas: task.replicas ?? 1,
      resources: task.resources ?? null,
      name: task.name ?? null,
      image: task.image ?? null,
      cmd: task.cmd ?? null,
      envVars: task.envVars ?? null,
      resourceMap,
    };
    // Periscope's extensions are echoed only when given, keeping Submarine's shape otherwise.
    if (task.nodes != null) normalizedTask.nodes = task.nodes;
    if (task.nodeSelector != null) normalizedTask.nodeSelector = task.nodeSelector;
    if (task.pipeline != null) normalizedTask.pipeline = task.pipeline;
    spec[role] = normalizedTask;
  }

  const normalized: NormalizedExperimentSpec = {
    meta: {
      experimentId: options.experimentId,
      name: options.lowercaseName ? meta.name.toLowerCase() : meta.name,
      namespace: DEFAULT_NAMESPACE,
      framework: meta.framework,
      cmd: meta.cmd ?? null,
      envVars: meta.envVars ?? {},
      tags: meta.tags ?? [],
    },
    environment: normalizeEnvironment(input.environment ?? {}),
    spec,
    code: normalizeCode(input.code ?? null),
  };
  if (meta.description != null) normalized.meta.description = meta.description;
  // Extensions are echoed only when given, so a plain Submarine spec echoes exactly as seed 002 shows.
  if (input.experimentHandlerSpec != null) normalized.experimentHandlerSpec = input.experimentHandlerSpec;
  if (input.autoStart !== undefined) normalized.autoStart = input.autoStart;
  if (input.priority !== undefined) normalized.priority = input.priority;
  if (input.maxRestarts !== undefined) normalized.maxRestarts = input.maxRestarts;
  if (input.timeLimit !== undefined) normalized.timeLimit = input.timeLimit;
  if (input.slurm !== undefined) normalized.slurm = input.slurm;
  if (input.hyperparameters !== undefined) {
    validateHyperparameters(input.hyperparameters);
    normalized.hyperparameters = input.hyperparameters;
  }
  if (input.searcher !== undefined) {
    normalized.searcher = resolveSearcherConfig(input.searcher);
    validateSearcherConfig(normalized.searcher, input.hyperparameters ?? {});
  }
  return normalized;
}

export function normalizeEnvironment(env: EnvironmentSpec): NormalizedEnvironmentSpec {
  if (env.name != null && !ENVIRONMENT_NAME.test(env.name)) {
    throw new ValidationError(
      `environment.name: "${env.name}" must start and end with a letter or digit and contain only letters, digits, '.', '_' and '-'`,
      'environment.name',
    );
  }
  return {
    name: env.name ?? null,
    dockerImage: env.dockerImage ?? null,
    kernelSpec: env.kernelSpec ?? null,
    description: env.description ?? null,
    image: env.image ?? null,
  };
}

/** Submarine matches the framework case-insensitively and echoes it as given. */
function canonicalFramework(name: string): string {
  const found = Object.keys(FRAMEWORK_ROLES).find((f) => f.toLowerCase() === name.trim().toLowerCase());
  if (!found) {
    throw new ValidationError(
      `Unsupported framework name: ${name}. Supported frameworks are: ${Object.keys(FRAMEWORK_ROLES).join(',')}`,
      'meta.framework',
    );
  }
  return found;
}

function normalizeCode(code: CodeSpec | null): CodeSpec | null {
  if (code == null) return null;
  const mode = code.syncMode.toLowerCase();
  if (!(CODE_SYNC_MODES as readonly string[]).includes(mode)) {
    throw new ValidationError(`code.syncMode: "${code.syncMode}" is not supported (use ${CODE_SYNC_MODES.join(' or ')})`, 'code.syncMode');
  }
  const url = code.url ?? code.git?.url;
  if (!nonBlank(url)) throw new ValidationError('code.url: required (or code.git.url)', 'code.url');
  if (mode === 'upload' && !SHA256.test(url)) {
    throw new ValidationError(`code.url: for syncMode "upload" it must be the sha256 of an uploaded archive, got "${url}"`, 'code.url');
  }
  if (mode === 'git' && url.startsWith('-')) throw new ValidationError(`code.url: "${url}" is not a git URL`, 'code.url');
  const out: CodeSpec = { syncMode: code.syncMode };
  if (code.url != null) out.url = code.url;
  if (code.git != null) out.git = code.git;
  return out;
}

function checkEnvVars(envVars: Record<string, string> | null | undefined, field: string): void {
  for (const name of Object.keys(envVars ?? {})) {
    if (!ENV_NAME.test(name)) {
      throw new ValidationError(`${field}: "${name}" is not a valid environment variable name`, `${field}.${name}`);
    }
  }
}

function nonBlank(text: string | null | undefined): text is string {
  return text != null && text.trim() !== '';
}

/**
 * What each role's replicas run: role cmd/image/envVars override the experiment-level ones (role envVars
 * replace meta.envVars, no merge, as in Submarine). Image resolution: role image → environment.image →
 * environment.dockerImage → the stored environment's dockerImage.
 */
export function planRoles(spec: NormalizedExperimentSpec, storedEnvironmentImage: string | null = null): RolePlan[] {
  const envImage = spec.environment.image ?? spec.environment.dockerImage ?? storedEnvironmentImage;
  return Object.entries(spec.spec).map(([role, task]) => ({
    role,
    replicas: task.replicas,
    resources: parseResources(task.resources).resources,
    cmd: task.pipeline ? '' : (task.cmd ?? spec.meta.cmd)!,
    pipeline: task.pipeline ?? null,
    nodes: task.nodes ?? null,
    nodeSelector: task.nodeSelector ?? null,
    image: task.image ?? envImage,
    envVars: task.envVars ?? spec.meta.envVars,
  }));
}
