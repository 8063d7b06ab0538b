/** Argument checks shared by the references: each error names the option and the bad value. */

export class DeterminedUsageError extends TypeError {
  readonly code = 'INVALID_ARGUMENT';
  constructor(message: string) {
    super(message);
    this.name = 'DeterminedUsageError';
  }
}

export function nonNegativeInteger(name: string, value: number | undefined): void {
  if (value !== undefined && (!Number.isInteger(value) || value < 0)) {
    throw new DeterminedUsageError(`${name}: expected a non-negative integer, got ${JSON.stringify(value)}`);
  }
}

/** Names the options of `given` that are set, for "exactly one of" checks. */
export function setOptions(given: Record<string, unknown>): string[] {
  return Object.entries(given)
    .filter(([, value]) => value !== undefined && value !== false && value !== null)
    .map(([key]) => key);
}
