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
