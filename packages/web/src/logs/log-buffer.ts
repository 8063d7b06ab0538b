/** The window of log lines held in memory: bounded (oldest dropped first) and free of repeats. */
import type { LogLine } from '@periscope/sdk';

export const MAX_LINES = 200_000;
/** Dropping a slice at a time keeps the (linear) shift off every append. */
const DROP_SLACK = 20_000;

export class LogBuffer {
  readonly lines: LogLine[] = [];
  /** How many lines were dropped from the top so far: the view keeps its scroll position by it. */
  dropped = 0;
  /** Per executor and stream, the byte offset of the last line held. */
  readonly #latest = new Map<string, number>();

  /**
   * Appends the lines; with `overlapping` (a backlog that may repeat lines held), only those past what is
   * held. Not always: an executor restarted into a fresh file starts its offsets again.
   */
  append(batch: readonly LogLine[], overlapping = false): number {
    let added = 0;
    for (const line of batch) {
      const key = `${line.executor}\u0000${line.stream}`;
      const latest = this.#latest.get(key);
      if (overlapping && latest !== undefined && line.offset <= latest) continue;
      this.#latest.set(key, line.offset);
      this.lines.push(line);
      added++;
    }
    if (this.lines.length > MAX_LINES) {
      const drop = this.lines.length - MAX_LINES + DROP_SLACK;
      this.lines.splice(0, drop);
      this.dropped += drop;
    }
    return added;
  }
}
