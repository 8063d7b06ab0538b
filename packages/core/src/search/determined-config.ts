/**
 * Determined experiment configs (YAML text or the parsed object) as Periscope ExperimentSpecs, so the SDK and
 * CLI take either. Fields Periscope does not use are left out of the spec and reported as warnings, never
 * rejected: real configs carry many of them. Values Periscope cannot run (a legacy Trial class, an unknown
 * searcher) are ValidationErrors naming the Determined field.
 *
 * Mapping decisions:
 * - `entrypoint` (a string, or a list of arguments shell-quoted and joined) is `meta.cmd`; framework Custom.
 * - `resources.slots_per_trial: N` is one role `Worker` with one replica and `gpu=N`: a Determined trial is
 *   one process per node that launches its own ranks (torch_distributed, horovod), and that process is
 *   what a Periscope executor is. 0 or absent: no GPU request.
 * - `resources.resource_pool` is the Slurm partition (`slurm.partition`); other launchers ignore it.
 * - `max_restarts` defaults to 5 as in Determined (Periscope's own default is 0).
 * - Determined ≥ 0.38 has no `searcher.max_length`: single, grid and random trials train as long as their
 *   script decides; adaptive_asha takes `time_metric` + `max_time`. An older config's `max_length`
 *   `{batches: N}` is N steps; `{epochs: N}` / `{records: N}` is N with timeMetric `epochs` / `records`
 *   (unless time_metric says otherwise); `time_metric` + `max_time` win over it.
 * - Errors about the searcher name Determined's fields (`searcher.max_time`), not the spec's (`maxTime`).
 * - `environment.image` is kept in the spec (for reference) but has no effect on local processes: a warning says so.
 * - `async_halving` runs as adaptive_asha in aggressive mode (one bracket).
 *
 * Imported from `@periscope/core/determined`, not the package root: it loads the `yaml` parser, which costs
 * the server ~9 MB of resident memory at start-up if it sits in the root's import graph.
 */
import YAML from 'yaml';
import { ValidationError } from '../errors.js';
import type { ExperimentSpec, ExperimentTaskSpec } from '../schemas.js';
import { resolveSearcherConfig, SEARCHER_NAMES, type SearcherConfigInput } from './config.js';
import { validateHyperparameters } from './hyperparameters.js';
import { validateSearcherConfig } from './searcher.js';

export interface DeterminedConversion {
  spec: ExperimentSpec;
  /** One line per field left out (`unknown field "foo" ignored`) or changed on the way. */
  warnings: string[];
}

/** Determined's default, kept so a converted experiment retries failures as it did there. */
export const DETERMINED_MAX_RESTARTS = 5;
const PERISCOPE_MAX_RESTARTS = 100;

/** Fields Determined knows that Periscope leaves out, with the reason given in the warning. */
const IGNORED: Record<string, string> = {
  workspace: 'workspaces are not modelled',
  project: 'projects are not modelled',
  data: 'pass data settings through hyperparameters or environment variables',
  checkpoint_storage: "checkpoints go to the server's checkpoint storage",
  checkpoint_policy: 'every reported checkpoint is kept',
  min_validation_period: 'deprecated in Determined; validate from the training code',
  min_checkpoint_period: 'deprecated in Determined; checkpoint from the training code',
  perform_initial_validation: 'validate from the training code',
  scheduling_unit: 'deprecated in Determined',
  records_per_epoch: 'deprecated in Determined',
  optimizations: 'deprecated in Determined',
  reproducibility: 'the server seeds the searcher',
  bind_mounts: 'executors run as processes on the node; paths are visible as they are',
  log_policies: 'not supported',
  retention_policy: 'not supported',
  preemption_timeout: 'the server uses its own grace period',
  slurm: 'the Slurm launcher takes its settings from the server',
  pbs: 'PBS is not supported',
  profiling: 'not supported',
  integrations: 'not supported',
  tensorboard_storage: 'not supported',
  debug: 'not supported',
};
const HANDLED = new Set(['name', 'description', 'labels', 'entrypoint', 'hyperparameters', 'searcher', 'resources', 'max_restarts', 'environment']);

const SEARCHER_FIELDS = new Set([
  'name', 'metric', 'smaller_is_better', 'max_trials', 'max_concurrent_trials', 'max_length', 'max_time', 'time_metric',
  'num_rungs', 'max_rungs', 'divisor', 'mode',
]);
const SEARCHER_IGNORED: Record<string, string> = {
  bracket_rungs: 'brackets follow from mode',
  stop_once: 'ASHA always stops early',
  source_trial_id: 'warm starts are not supported',
  source_checkpoint_uuid: 'warm starts are not supported',
  max_steps: 'use max_length',
};
const ASHA_FIELDS = new Set(['num_rungs', 'max_rungs', 'divisor', 'mode']);
const LENGTH_UNITS = ['batches', 'epochs', 'records'] as const;

export function fromDeterminedConfig(config: string | Record<string, unknown>): DeterminedConversion {
  const root = typeof config === 'string' ? parseYaml(config) : config;
  if (!isObject(root)) throw new ValidationError('config: must be a mapping of Determined experiment fields', 'config');
  const warnings: string[] = [];
  for (const key of Object.keys(root)) {
    if (HANDLED.has(key)) continue;
    warnings.push(key in IGNORED ? `field "${key}" ignored (${IGNORED[key]})` : `unknown field "${key}" ignored`);
  }

  const resources = convertResources(root.resources, warnings);
  const role: ExperimentTaskSpec = { replicas: 1 };
  if (resources.gpu > 0) role.resources = `gpu=${resources.gpu}`;
  const spec: ExperimentSpec = {
    meta: { name: experimentName(root.name, warnings), framework: 'Custom', cmd: entrypoint(root.entrypoint) },
    spec: { Worker: role },
    maxRestarts: maxRestarts(root.max_restarts, warnings),
  };
  // A resource pool is a Slurm partition (other launchers ignore it).
  if (resources.pool !== undefined) spec.slurm = { partition: resources.pool };
  if (typeof root.description === 'string' && root.description !== '') spec.meta.description = root.description;
  if (root.labels != null) spec.meta.tags = labels(root.labels);
  const environment = convertEnvironment(root.environment, resources.gpu > 0, warnings);
  if (Object.keys(environment.envVars).length > 0) spec.meta.envVars = environment.envVars;
  if (environment.image) spec.environment = { image: environment.image };

  if (root.hyperparameters != null) {
    validateHyperparameters(root.hyperparameters);
    spec.hyperparameters = root.hyperparameters;
  }
  if (root.searcher != null) {
    const input = convertSearcher(root.searcher, warnings);
    spec.searcher = inDeterminedTerms(() => {
      const searcher = resolveSearcherConfig(input);
      validateSearcherConfig(searcher, spec.hyperparameters ?? {});
      return searcher;
    });
  }
  return { spec, warnings };
}

/** The searcher settings' names as a Determined config spells them. */
const DETERMINED_SEARCHER_NAMES: Record<string, string> = {
  smallerIsBetter: 'smaller_is_better',
  maxLength: 'max_length',
  maxTime: 'max_time',
  maxTrials: 'max_trials',
  maxConcurrentTrials: 'max_concurrent_trials',
  numRungs: 'max_rungs',
  timeMetric: 'time_metric',
};
const SPEC_SEARCHER_NAME = new RegExp(`\\b(${Object.keys(DETERMINED_SEARCHER_NAMES).join('|')})\\b`, 'g');

/** Runs the spec's searcher checks; a ValidationError comes back naming Determined's fields, as the user wrote them. */
function inDeterminedTerms<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    const rename = (text: string) => text.replace(SPEC_SEARCHER_NAME, (name) => DETERMINED_SEARCHER_NAMES[name]!);
    throw new ValidationError(rename(error.message), error.field === undefined ? undefined : rename(error.field));
  }
}

/** A config's YAML text, parsed; a ValidationError naming `config` (and the fault's line) when it is not YAML. */
export function parseYaml(text: string): unknown {
  try {
    return YAML.parse(text);
  } catch (err) {
    // yaml's message is "<what> at line L, column C:" followed by an excerpt: the first line says enough.
    throw new ValidationError(`config: not valid YAML: ${(err as Error).message.split('\n')[0]}`, 'config');
  }
}

function experimentName(name: unknown, warnings: string[]): string {
  if (name == null || name === '') {
    warnings.push('field "name" missing; the experiment is named "experiment"');
    return 'experiment';
  }
  const given = String(name);
  // Periscope names are letters, digits, '.', '_' and '-', starting and ending with a letter or digit.
  const safe = given.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '').slice(0, 128).replace(/[^A-Za-z0-9]+$/, '');
  const result = safe === '' ? 'experiment' : safe;
  if (result !== given) warnings.push(`field "name" ${JSON.stringify(given)} became "${result}"`);
  return result;
}

function entrypoint(value: unknown): string {
  if (Array.isArray(value) && value.length > 0 && value.every((arg) => typeof arg === 'string')) return value.map(shellQuote).join(' ');
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ValidationError('entrypoint: required, the command that runs the training code (e.g. python3 train.py)', 'entrypoint');
  }
  if (/^[\w.]+:\w+$/.test(value.trim())) {
    throw new ValidationError(
      `entrypoint: "${value}" names a legacy Trial class; Periscope runs a command (e.g. python3 -m determined.launch.torch_distributed train.py, or python3 train.py)`,
      'entrypoint',
    );
  }
  return value;
}

function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

function labels(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  if (isObject(value)) return Object.keys(value); // an older form: a map whose keys are the labels
  return [String(value)];
}

function maxRestarts(value: unknown, warnings: string[]): number {
  if (value == null) return DETERMINED_MAX_RESTARTS;
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw new ValidationError(`max_restarts: must be a non-negative integer, got ${JSON.stringify(value)}`, 'max_restarts');
  }
  if ((value as number) > PERISCOPE_MAX_RESTARTS) {
    warnings.push(`field "max_restarts" ${value as number} lowered to ${PERISCOPE_MAX_RESTARTS}, Periscope's maximum`);
    return PERISCOPE_MAX_RESTARTS;
  }
  return value as number;
}

function convertResources(value: unknown, warnings: string[]): { gpu: number; pool?: string } {
  if (value == null) return { gpu: 0 };
  if (!isObject(value)) throw new ValidationError('resources: must be a mapping', 'resources');
  let gpu = 0;
  let pool: string | undefined;
  for (const [key, v] of Object.entries(value)) {
    if (key === 'slots_per_trial') {
      if (!Number.isSafeInteger(v) || (v as number) < 0) {
        throw new ValidationError(`resources.slots_per_trial: must be a non-negative integer, got ${JSON.stringify(v)}`, 'resources.slots_per_trial');
      }
      gpu = v as number;
    } else if (key === 'resource_pool') {
      if (typeof v !== 'string' || !/^[A-Za-z0-9_.,-]{1,128}$/.test(v)) {
        throw new ValidationError(`resources.resource_pool: must be a pool (Slurm partition) name, got ${JSON.stringify(v)}`, 'resources.resource_pool');
      }
      pool = v;
    } else if (['priority', 'weight', 'max_slots', 'shm_size', 'is_single_node', 'devices'].includes(key)) {
      warnings.push(`field "resources.${key}" ignored (not supported)`);
    } else {
      warnings.push(`unknown field "resources.${key}" ignored`);
    }
  }
  return { gpu, ...(pool !== undefined && { pool }) };
}

function convertEnvironment(value: unknown, gpu: boolean, warnings: string[]): { envVars: Record<string, string>; image: string | null } {
  const out = { envVars: {} as Record<string, string>, image: null as string | null };
  if (value == null) return out;
  if (!isObject(value)) throw new ValidationError('environment: must be a mapping', 'environment');
  for (const [key, v] of Object.entries(value)) {
    if (key === 'environment_variables') out.envVars = environmentVariables(v, gpu);
    else if (key === 'image') {
      const image = isObject(v) ? perDevice(v, gpu, 'environment.image') : v;
      out.image = typeof image === 'string' ? image : null;
      if (out.image) warnings.push('field "environment.image" has no effect (executors run as processes, not containers; the image is kept in the spec for reference)');
    }
    else if (['force_pull_image', 'registry_auth', 'pod_spec', 'add_capabilities', 'drop_capabilities', 'proxy_ports'].includes(key)) {
      warnings.push(`field "environment.${key}" ignored (executors run as processes, not containers)`);
    } else {
      warnings.push(`unknown field "environment.${key}" ignored`);
    }
  }
  return out;
}

/** `["K=V", …]`, the per-device form `{cpu: [...], cuda: [...], rocm: [...]}`, or a plain `{K: V}` map. */
function environmentVariables(value: unknown, gpu: boolean): Record<string, string> {
  const field = 'environment.environment_variables';
  if (isObject(value) && Object.keys(value).length > 0 && Object.entries(value).every(([k, v]) => ['cpu', 'cuda', 'gpu', 'rocm'].includes(k) && Array.isArray(v))) {
    return environmentVariables(perDevice(value, gpu, field) ?? [], gpu);
  }
  const out: Record<string, string> = {};
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      const text = String(item);
      const eq = text.indexOf('=');
      if (eq <= 0) throw new ValidationError(`${field}[${i}]: "${text}" must look like NAME=VALUE`, field);
      out[text.slice(0, eq)] = text.slice(eq + 1);
    });
    return out;
  }
  if (isObject(value)) {
    for (const [k, v] of Object.entries(value)) out[k] = v == null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
    return out;
  }
  throw new ValidationError(`${field}: must be a list of NAME=VALUE or a mapping`, field);
}

/** Determined's per-device values: `cuda` (alias `gpu`) when the trial asks for GPUs, else `cpu`. */
function perDevice<T>(value: Record<string, T>, gpu: boolean, field: string): T | null {
  const chosen = gpu ? (value.cuda ?? value.gpu) : value.cpu;
  if (chosen === undefined && Object.keys(value).length > 0) {
    throw new ValidationError(`${field}: no ${gpu ? 'cuda' : 'cpu'} entry for a trial ${gpu ? 'with' : 'without'} GPUs`, field);
  }
  return chosen ?? null;
}

function convertSearcher(value: unknown, warnings: string[]): SearcherConfigInput {
  if (!isObject(value)) throw new ValidationError('searcher: must be a mapping', 'searcher');
  let name = value.name;
  if (name === 'async_halving') {
    warnings.push('searcher "async_halving" runs as adaptive_asha with mode aggressive (one bracket)');
    name = 'adaptive_asha';
  }
  if (typeof name !== 'string' || !(SEARCHER_NAMES as readonly string[]).includes(name)) {
    throw new ValidationError(`searcher.name: ${JSON.stringify(value.name)} is not supported (use ${SEARCHER_NAMES.join(', ')})`, 'searcher.name');
  }
  const asha = name === 'adaptive_asha';
  const present = (key: string) => value[key] !== undefined && value[key] !== null;
  for (const key of Object.keys(value)) {
    if (key in SEARCHER_IGNORED) warnings.push(`field "searcher.${key}" ignored (${SEARCHER_IGNORED[key]})`);
    else if (!SEARCHER_FIELDS.has(key)) warnings.push(`unknown field "searcher.${key}" ignored`);
  }
  const ignoreFor = (key: string, why: string): boolean => {
    if (!present(key)) return false;
    warnings.push(`field "searcher.${key}" ignored (${why})`);
    return true;
  };
  const out: SearcherConfigInput = { name: name as SearcherConfigInput['name'], metric: value.metric as string };
  if (present('smaller_is_better')) out.smallerIsBetter = value.smaller_is_better as boolean;
  if (name === 'grid') ignoreFor('max_trials', 'grid runs every point of the grid');
  else if (name === 'single') ignoreFor('max_trials', 'single runs one trial');
  else if (present('max_trials')) out.maxTrials = value.max_trials as number;
  if (present('max_concurrent_trials') && !(name === 'single' && ignoreFor('max_concurrent_trials', 'single runs one trial'))) {
    out.maxConcurrentTrials = value.max_concurrent_trials as number;
  }
  for (const key of ASHA_FIELDS) if (!asha) ignoreFor(key, `only adaptive_asha takes it`);
  if (asha) {
    const rungs = value.max_rungs ?? value.num_rungs;
    if (rungs != null) out.numRungs = rungs as number;
    if (present('divisor')) out.divisor = value.divisor as number;
    if (value.name === 'async_halving') out.mode = 'aggressive';
    else if (present('mode')) out.mode = value.mode as SearcherConfigInput['mode'];
  }
  if (present('time_metric')) out.timeMetric = value.time_metric as string;
  if (present('max_time')) {
    out.maxTime = value.max_time as number;
    if (present('max_length')) warnings.push('field "searcher.max_length" ignored (max_time is given)');
  } else if (present('max_length')) {
    const length = value.max_length;
    if (typeof length === 'number') out.maxLength = length;
    else {
      const unit = isObject(length) ? LENGTH_UNITS.find((u) => u in length) : undefined;
      if (!unit || !isObject(length)) {
        throw new ValidationError(`searcher.max_length: must be a number or one of {batches: N}, {epochs: N}, {records: N}`, 'searcher.max_length');
      }
      out.maxLength = length[unit] as number;
      if (unit !== 'batches' && out.timeMetric === undefined) out.timeMetric = unit;
    }
  }
  return out;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
