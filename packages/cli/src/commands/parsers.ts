/** Option value parsers: a bad value is a usage error (exit 2) naming the flag's expectation. */
import { InvalidArgumentError } from 'commander';

export function nonNegativeInteger(value: string): number {
  if (!/^\d{1,9}$/.test(value)) throw new InvalidArgumentError('expected a whole number (0 or more).');
  return Number(value);
}

export function seconds(value: string): number {
  if (!/^\d+(\.\d+)?$/.test(value)) throw new InvalidArgumentError('expected a number of seconds, e.g. 90 or 0.5.');
  return Number(value);
}

/** A whole number that may be negative (a flag's integer value, an increment). */
export function integer(value: string): number {
  const n = Number(value);
  if (!/^-?\d{1,16}$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('expected a whole number, e.g. 3 or -1.');
  return n;
}

/** A key=value pair (a node label). */
export function keyValue(value: string): string {
  if (!/^[^=]+=/.test(value)) throw new InvalidArgumentError('expected key=value, e.g. gpu=true.');
  return value;
}
