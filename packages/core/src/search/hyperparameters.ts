/**
 * Hyperparameter spaces as Determined writes them: each name maps to a typed definition (`const`, `int`,
 * `double`, `log`, `categorical`), a bare literal (shorthand for `const`) or a nested group of further
 * hyperparameters. Validation, seeded sampling and grid expansion; no I/O.
 *
 * The JSON Schema is deliberately loose (any object): a union of six shapes, one of them "any object", would
 * accept almost everything anyway and answer the rest with "must match a schema in anyOf".
 * validateHyperparameters says precisely which field is wrong and why.
 */
import Type from 'typebox';
import { ValidationError } from '../errors.js';
import type { Prng } from './prng.js';

export interface ConstHyperparameter {
  type: 'const';
  val: unknown;
}
export interface IntHyperparameter {
  type: 'int';
  /** Both ends included. */
  minval: number;
  maxval: number;
  /** Grid points (grid search only); capped at the number of integers in the range. */
  count?: number;
}
export interface DoubleHyperparameter {
  type: 'double';
  minval: number;
  maxval: number;
  /** Grid points (grid search only), evenly spaced, both ends included. */
  count?: number;
}
/** Values `base^x` with x uniform in [minval, maxval]: `{base: 10, minval: -4, maxval: -1}` is 1e-4 … 1e-1. */
export interface LogHyperparameter {
  type: 'log';
  base: number;
  minval: number;
  maxval: number;
  /** Grid points (grid search only), evenly spaced in the exponent. */
  count?: number;
}
export interface CategoricalHyperparameter {
  type: 'categorical';
  vals: unknown[];
}
export type TypedHyperparameter =
  | ConstHyperparameter
  | IntHyperparameter
  | DoubleHyperparameter
  | LogHyperparameter
  | CategoricalHyperparameter;
/** A bare value stands for `{type: const, val: value}`. */
export type HyperparameterLiteral = string | number | boolean | null | unknown[];
export interface HyperparameterGroup {
  [name: string]: Hyperparameter;
}
export type Hyperparameter = TypedHyperparameter | HyperparameterLiteral | HyperparameterGroup;
export type HyperparameterSpace = HyperparameterGroup;

export const HyperparameterSpace = Type.Unsafe<HyperparameterSpace>(
  Type.Record(Type.String(), Type.Unknown(), {
    description:
      'Name → `{type: const, val}`, `{type: int|double, minval, maxval, count?}`, `{type: log, base, minval, maxval, count?}`, ' +
      '`{type: categorical, vals: [...]}`, a bare value (a constant), or a nested group of hyperparameters.',
    examples: [{ lr: { type: 'log', base: 10, minval: -4, maxval: -1 }, layers: { type: 'int', minval: 1, maxval: 4 }, batch: 64 }],
  }),
);

export const HYPERPARAMETER_TYPES = ['const', 'int', 'double', 'log', 'categorical'] as const;
const ALLOWED_KEYS: Record<TypedHyperparameter['type'], readonly string[]> = {
  const: ['type', 'val'],
  int: ['type', 'minval', 'maxval', 'count'],
  double: ['type', 'minval', 'maxval', 'count'],
  log: ['type', 'base', 'minval', 'maxval', 'count'],
  categorical: ['type', 'vals'],
};
/** Deeper nesting is certainly a mistake (or an attack on the recursion). */
const MAX_DEPTH = 16;
/** A grid beyond this many trials is a typo in a count, not an experiment. */
export const MAX_GRID_TRIALS = 100_000;

/** Throws a ValidationError naming the field (`hyperparameters.lr: minval 0.1 > maxval 0.01`). */
export function validateHyperparameters(space: unknown, field = 'hyperparameters'): asserts space is HyperparameterSpace {
  if (!isPlainObject(space)) throw new ValidationError(`${field}: must be an object mapping names to hyperparameters`, field);
  validateGroup(space, field, 1);
}

function validateGroup(group: Record<string, unknown>, field: string, depth: number): void {
  if (depth > MAX_DEPTH) throw new ValidationError(`${field}: nested more than ${MAX_DEPTH} levels deep`, field);
  for (const [name, value] of Object.entries(group)) {
    const path = `${field}.${name}`;
    if (name.trim() === '') throw new ValidationError(`${field}: hyperparameter names must not be blank`, field);
    if (!isPlainObject(value)) {
      if (typeof value === 'number' && !Number.isFinite(value)) throw new ValidationError(`${path}: must be a finite number`, path);
      continue; // a bare literal: a constant
    }
    if (!('type' in value)) validateGroup(value, path, depth + 1);
    else validateTyped(value, path);
  }
}

function validateTyped(param: Record<string, unknown>, path: string): void {
  const type = param.type;
  if (typeof type !== 'string' || !(HYPERPARAMETER_TYPES as readonly string[]).includes(type)) {
    throw new ValidationError(`${path}.type: unknown hyperparameter type ${JSON.stringify(type)} (use ${HYPERPARAMETER_TYPES.join(', ')})`, `${path}.type`);
  }
  const kind = type as TypedHyperparameter['type'];
  const allowed = ALLOWED_KEYS[kind];
  for (const key of Object.keys(param)) {
    if (!allowed.includes(key)) {
      throw new ValidationError(`${path}: unknown property "${key}" for type ${kind} (allowed: ${allowed.join(', ')})`, `${path}.${key}`);
    }
  }
  switch (kind) {
    case 'const':
      if (!('val' in param)) throw new ValidationError(`${path}.val: required for type const`, `${path}.val`);
      return;
    case 'categorical':
      if (!Array.isArray(param.vals) || param.vals.length === 0) {
        throw new ValidationError(`${path}.vals: must be a non-empty list of values`, `${path}.vals`);
      }
      return;
    case 'log':
      if (!isFiniteNumber(param.base) || param.base <= 0 || param.base === 1) {
        throw new ValidationError(`${path}.base: must be a positive number other than 1, got ${JSON.stringify(param.base)}`, `${path}.base`);
      }
      break;
    default:
      break;
  }
  for (const bound of ['minval', 'maxval'] as const) {
    const value = param[bound];
    if (!isFiniteNumber(value)) throw new ValidationError(`${path}.${bound}: required, a finite number (got ${JSON.stringify(value)})`, `${path}.${bound}`);
    if (kind === 'int' && !Number.isSafeInteger(value)) {
      throw new ValidationError(`${path}.${bound}: must be an integer for type int, got ${value}`, `${path}.${bound}`);
    }
  }
  const { minval, maxval } = param as { minval: number; maxval: number };
  if (minval > maxval) throw new ValidationError(`${path}: minval ${minval} > maxval ${maxval}`, path);
  if (kind === 'log') {
    const base = param.base as number;
    if (!Number.isFinite(base ** minval) || !Number.isFinite(base ** maxval)) {
      throw new ValidationError(`${path}: ${base}^${minval} … ${base}^${maxval} is beyond the range of a number`, path);
    }
  }
  if (param.count !== undefined && !(Number.isSafeInteger(param.count) && (param.count as number) >= 1)) {
    throw new ValidationError(`${path}.count: must be a positive integer, got ${JSON.stringify(param.count)}`, `${path}.count`);
  }
}

/**
 * One random assignment: int uniform over [minval, maxval] (both ends), double uniform, log `base^uniform`,
 * categorical a uniform choice, const its value; groups become nested objects. Names are visited in sorted
 * order, so the same seed gives the same assignment even after a store reorders the keys (PostgreSQL jsonb
 * does); the result keeps the space's own key order.
 */
export function sampleHyperparameters(space: HyperparameterSpace, prng: Prng): Record<string, unknown> {
  const out = skeleton(space);
  for (const leaf of leavesOf(space)) setAt(out, leaf.path, sampleLeaf(leaf.param, prng));
  return out;
}

function sampleLeaf(param: Hyperparameter, prng: Prng): unknown {
  if (!isTyped(param)) return cloneValue(param);
  switch (param.type) {
    case 'const':
      return cloneValue(param.val);
    case 'int':
      return param.minval + prng.below(param.maxval - param.minval + 1);
    case 'double':
      return param.minval + prng.next() * (param.maxval - param.minval);
    case 'log':
      return param.base ** (param.minval + prng.next() * (param.maxval - param.minval));
    case 'categorical':
      return cloneValue(param.vals[prng.below(param.vals.length)]);
  }
}

/** Every point of a grid, addressed by index so that a huge grid is never held in memory. */
export interface HyperparameterGrid {
  /** The number of points: the product of the axis sizes (1 for a space of constants or an empty space). */
  readonly size: number;
  /** Point `index` (0 ≤ index < size); the last name in sorted order varies fastest. */
  at(index: number): Record<string, unknown>;
}

/**
 * The Cartesian product of one axis per leaf: int `count` evenly spaced integers including both ends (count
 * capped at the size of the range, count 1 the midpoint), double `count` evenly spaced points, log `count`
 * points evenly spaced in the exponent, categorical all `vals`, const the value. Numeric leaves need `count`.
 */
export function hyperparameterGrid(space: HyperparameterSpace, field = 'hyperparameters'): HyperparameterGrid {
  const leaves = leavesOf(space);
  const axes = leaves.map((leaf) => gridAxis(leaf.param, `${field}.${leaf.path.join('.')}`));
  let size = 1;
  for (const axis of axes) size *= axis.length;
  if (size > MAX_GRID_TRIALS) {
    throw new ValidationError(
      `${field}: the grid has ${size} points (${axes.map((a) => a.length).join(' × ')}), more than ${MAX_GRID_TRIALS}; lower some counts`,
      field,
    );
  }
  return {
    size,
    at(index: number): Record<string, unknown> {
      if (!Number.isInteger(index) || index < 0 || index >= size) throw new RangeError(`grid index ${index} is outside 0..${size - 1}`);
      const out = skeleton(space);
      let rest = index;
      for (let i = axes.length - 1; i >= 0; i--) {
        const axis = axes[i]!;
        setAt(out, leaves[i]!.path, cloneValue(axis[rest % axis.length]));
        rest = Math.floor(rest / axis.length);
      }
      return out;
    },
  };
}

function gridAxis(param: Hyperparameter, path: string): unknown[] {
  if (!isTyped(param)) return [param];
  switch (param.type) {
    case 'const':
      return [param.val];
    case 'categorical':
      return param.vals;
    default:
      break;
  }
  if (param.count === undefined) {
    throw new ValidationError(`${path}.count: required for grid search (how many values of this ${param.type} to try)`, `${path}.count`);
  }
  const { minval, maxval } = param;
  if (param.type === 'int') {
    const count = Math.min(param.count, maxval - minval + 1);
    if (count === 1) return [Math.round((minval + maxval) / 2)];
    const values = Array.from({ length: count }, (_, i) => Math.round(minval + (i * (maxval - minval)) / (count - 1)));
    return [...new Set(values)];
  }
  const count = param.count;
  const points = count === 1 ? [(minval + maxval) / 2] : Array.from({ length: count }, (_, i) => minval + (i * (maxval - minval)) / (count - 1));
  return param.type === 'log' ? points.map((x) => param.base ** x) : points;
}

interface Leaf {
  path: string[];
  param: Hyperparameter;
}

/** The leaves (typed definitions and literals), depth first, names in sorted order. */
function leavesOf(group: HyperparameterGroup, prefix: string[] = [], out: Leaf[] = []): Leaf[] {
  for (const name of Object.keys(group).sort()) {
    const param = group[name]!;
    if (isGroup(param)) leavesOf(param, [...prefix, name], out);
    else out.push({ path: [...prefix, name], param });
  }
  return out;
}

/** Empty objects for every group, in the space's own key order, so the filled result keeps that order. */
function skeleton(group: HyperparameterGroup): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, param] of Object.entries(group)) out[name] = isGroup(param) ? skeleton(param) : undefined;
  return out;
}

function setAt(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const name of path.slice(0, -1)) node = node[name] as Record<string, unknown>;
  node[path[path.length - 1]!] = value;
}

function isTyped(param: Hyperparameter): param is TypedHyperparameter {
  return isPlainObject(param) && 'type' in param;
}

function isGroup(param: Hyperparameter): param is HyperparameterGroup {
  return isPlainObject(param) && !('type' in param);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** Values handed to trials are copies: no two trials (or the space) share a mutable list or object. */
function cloneValue<T>(value: T): T {
  return typeof value === 'object' && value !== null ? structuredClone(value) : value;
}
