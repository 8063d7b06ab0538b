/**
 * Submarine-style ids: `experiment-<server start millis>-<counter, at least 4 digits>`. The counter restarts
 * with each server start; ids stay unique because the start millis differ (and the store's unique key refuses
 * the impossible collision).
 */
export const EXPERIMENT_ID = /^experiment-\d{13}-\d{4,}$/;

export class IdGenerator {
  private counter = 0;
  constructor(
    private readonly prefix: string,
    private readonly separator: string,
    private readonly startMillis: number = Date.now(),
  ) {}
  next(): string {
    this.counter += 1;
    return [this.prefix, this.startMillis, String(this.counter).padStart(4, '0')].join(this.separator);
  }
}

export function isExperimentId(id: string): boolean {
  return EXPERIMENT_ID.test(id);
}
