/**
 * Searcher settings in their three stages: what a user writes (SearcherConfigSchema, a few fields optional),
 * the same with defaults filled in (SearcherConfig, what the server stores and echoes), and the checks that
 * JSON Schema cannot say (validateSearcherConfig: contradictions between fields and the hyperparameters).
 */
import Type from 'typebox';
import { ValidationError } from '../errors.js';
import { hyperparameterGrid, validateHyperparameters, type HyperparameterSpace } from './hyperparameters.js';
import type { AshaMode, SearcherConfig, SearcherName } from './types.js';

export const SEARCHER_NAMES: readonly SearcherName[] = ['single', 'grid', 'random', 'adaptive_asha'];
export const ASHA_MODES: readonly AshaMode[] = ['aggressive', 'standard', 'conservative'];

/** Determined's defaults, where it has them. */
export const SEARCHER_DEFAULTS = {
  smallerIsBetter: true,
  /** grid, random, adaptive_asha. */
  maxConcurrentTrials: 16,
  divisor: 4,
  /** Clamped per search so that the lowest rung's budget is at least 1 and one trial can reach the top. */
  numRungs: 5,
  mode: 'standard' as AshaMode,
} as const;

const MAX_TRIALS = 100_000;
const MAX_RUNGS = 32;

export const SearcherConfigSchema = Type.Object(
  {
    name: Type.Union([Type.Literal('single'), Type.Literal('grid'), Type.Literal('random'), Type.Literal('adaptive_asha')], {
      description: 'single, grid, random or adaptive_asha.',
    }),
    metric: Type.String({ minLength: 1, description: 'The validation metric that ranks trials.' }),
    smallerIsBetter: Type.Optional(Type.Boolean({ description: 'Default true.' })),
    maxLength: Type.Optional(
      Type.Integer({
        minimum: 1,
        description: 'Training length budget per trial, in steps or in the unit of timeMetric. adaptive_asha: required unless maxTime is given; others: absent, the script decides.',
      }),
    ),
    maxTime: Type.Optional(Type.Integer({ minimum: 1, description: 'Determined ≥ 0.38 spelling of maxLength, with timeMetric: the final value of timeMetric.' })),
    maxTrials: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_TRIALS, description: 'Trials in all; required for random and adaptive_asha.' })),
    maxConcurrentTrials: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000, description: 'Live trials at once; default 16; 0 = no limit.' })),
    numRungs: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_RUNGS, description: 'adaptive_asha: most rungs per bracket (default 5).' })),
    divisor: Type.Optional(Type.Number({ exclusiveMinimum: 1, maximum: 1000, description: 'adaptive_asha: promotion ratio (default 4).' })),
    mode: Type.Optional(
      Type.Union([Type.Literal('aggressive'), Type.Literal('standard'), Type.Literal('conservative')], {
        description: 'adaptive_asha: aggressive, standard (default) or conservative.',
      }),
    ),
    timeMetric: Type.Optional(Type.String({ minLength: 1, description: 'The validation metric that measures progress (e.g. epochs); default: the reported steps.' })),
  },
  { description: 'How trials are chosen and stopped. Absent: one trial.' },
);
/** What a user may write: SearcherConfig with `smallerIsBetter` optional and `maxTime` as an alias of `maxLength`. */
export interface SearcherConfigInput extends Omit<SearcherConfig, 'smallerIsBetter' | 'maxLength'> {
  smallerIsBetter?: boolean;
  maxLength?: number;
  maxTime?: number;
}

const INPUT_KEYS = ['name', 'metric', 'smallerIsBetter', 'maxLength', 'maxTime', 'maxTrials', 'maxConcurrentTrials', 'numRungs', 'divisor', 'mode', 'timeMetric'];
const ASHA_ONLY = ['numRungs', 'divisor', 'mode'] as const;

/** Fills in the defaults (for the searcher named) and folds `maxTime` into `maxLength`. Validate the result. */
export function resolveSearcherConfig(input: SearcherConfigInput, field = 'searcher'): SearcherConfig {
  for (const key of Object.keys(input)) {
    if (!INPUT_KEYS.includes(key)) throw new ValidationError(`${field}: unknown property "${key}"`, `${field}.${key}`);
  }
  const { maxTime, maxLength, ...rest } = input;
  if (maxTime !== undefined) {
    if (input.timeMetric === undefined) {
      throw new ValidationError(`${field}.timeMetric: required with maxTime (the validation metric whose final value is maxTime)`, `${field}.timeMetric`);
    }
    if (maxLength !== undefined && maxLength !== maxTime) {
      throw new ValidationError(`${field}.maxTime: give maxTime or maxLength, not both (${maxTime} ≠ ${maxLength})`, `${field}.maxTime`);
    }
  }
  const length = maxTime ?? maxLength;
  // Only ASHA needs a budget (its rungs are fractions of it); other searchers leave the length to the script.
  if (length === undefined && input.name === 'adaptive_asha') {
    throw new ValidationError(`${field}.maxTime: required for adaptive_asha, with timeMetric (or maxLength, the training length budget per trial)`, `${field}.maxTime`);
  }
  return withSearcherDefaults({ ...rest, smallerIsBetter: input.smallerIsBetter ?? SEARCHER_DEFAULTS.smallerIsBetter, ...(length !== undefined && { maxLength: length }) });
}

/** The defaults that apply to `config.name`; fields already given are kept. */
export function withSearcherDefaults(config: SearcherConfig): SearcherConfig {
  const out: SearcherConfig = { ...config };
  if (config.name !== 'single') out.maxConcurrentTrials = config.maxConcurrentTrials ?? SEARCHER_DEFAULTS.maxConcurrentTrials;
  if (config.name === 'adaptive_asha') {
    out.numRungs = config.numRungs ?? SEARCHER_DEFAULTS.numRungs;
    out.divisor = config.divisor ?? SEARCHER_DEFAULTS.divisor;
    out.mode = config.mode ?? SEARCHER_DEFAULTS.mode;
  }
  return out;
}

/** Throws a ValidationError naming the field for settings that contradict each other or the hyperparameters. */
export function validateSearcherConfig(config: SearcherConfig, space: HyperparameterSpace, field = 'searcher'): void {
  const f = (name: string) => `${field}.${name}`;
  const fail = (name: string, message: string): never => {
    throw new ValidationError(`${f(name)}: ${message}`, f(name));
  };
  if (!SEARCHER_NAMES.includes(config.name)) fail('name', `${JSON.stringify(config.name)} is not a searcher (use ${SEARCHER_NAMES.join(', ')})`);
  if (typeof config.metric !== 'string' || config.metric.trim() === '') fail('metric', 'required, the name of a validation metric');
  if (typeof config.smallerIsBetter !== 'boolean') fail('smallerIsBetter', 'must be true or false');
  if (config.maxLength !== undefined && !isCount(config.maxLength, 1)) fail('maxLength', `must be a positive integer, got ${JSON.stringify(config.maxLength)}`);
  if (config.maxTrials !== undefined && !(isCount(config.maxTrials, 1) && config.maxTrials <= MAX_TRIALS)) {
    fail('maxTrials', `must be an integer from 1 to ${MAX_TRIALS}, got ${JSON.stringify(config.maxTrials)}`);
  }
  if (config.maxConcurrentTrials !== undefined && !isCount(config.maxConcurrentTrials, 0)) {
    fail('maxConcurrentTrials', `must be 0 (no limit) or a positive integer, got ${JSON.stringify(config.maxConcurrentTrials)}`);
  }
  if (config.timeMetric !== undefined) {
    if (typeof config.timeMetric !== 'string' || config.timeMetric.trim() === '') fail('timeMetric', 'must be the name of a validation metric');
    if (config.timeMetric === config.metric) fail('timeMetric', `"${config.timeMetric}" measures progress; it cannot also be the metric that ranks trials`);
  }
  validateHyperparameters(space);

  if (config.name !== 'adaptive_asha') {
    for (const key of ASHA_ONLY) if (config[key] !== undefined) fail(key, `only adaptive_asha takes ${key} (this searcher is ${config.name})`);
  }
  switch (config.name) {
    case 'single':
      if (config.maxTrials !== undefined && config.maxTrials !== 1) fail('maxTrials', `single runs one trial; got maxTrials ${config.maxTrials}`);
      break;
    case 'grid': {
      const size = hyperparameterGrid(space).size;
      if (config.maxTrials !== undefined && config.maxTrials < size) {
        fail('maxTrials', `grid runs every point of the grid (${size}); maxTrials ${config.maxTrials} would skip some (leave it out)`);
      }
      break;
    }
    case 'random':
      if (config.maxTrials === undefined) fail('maxTrials', 'required for random search');
      break;
    case 'adaptive_asha':
      if (config.maxLength === undefined) fail('maxLength', 'required for adaptive_asha, the training length budget per trial (or maxTime with timeMetric)');
      if (config.maxTrials === undefined) fail('maxTrials', 'required for adaptive_asha');
      if (config.numRungs !== undefined && !(isCount(config.numRungs, 1) && config.numRungs <= MAX_RUNGS)) {
        fail('numRungs', `must be an integer from 1 to ${MAX_RUNGS}, got ${JSON.stringify(config.numRungs)}`);
      }
      if (config.divisor !== undefined && !(typeof config.divisor === 'number' && config.divisor > 1 && config.divisor <= 1000)) {
        fail('divisor', `must be a number above 1 (at most 1000), got ${JSON.stringify(config.divisor)}`);
      }
      if (config.mode !== undefined && !ASHA_MODES.includes(config.mode)) fail('mode', `${JSON.stringify(config.mode)} is not a mode (use ${ASHA_MODES.join(', ')})`);
      break;
  }
}

function isCount(value: unknown, min: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min;
}
