/**
 * Writes that must not be lost to a passing database failure (a dropped connection, a restarted PostgreSQL,
 * a busy SQLite file): the end of an executor, the end of a trial. They are retried until the database takes
 * them, with a backoff that grows to a bound, and every failure is logged. Only a closing server gives up.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { FastifyBaseLogger } from 'fastify';

/** First wait after a failure, in ms; it doubles up to RETRY_MAX_MS. */
const RETRY_FIRST_MS = 25;
/** The longest wait between two tries, in ms. */
const RETRY_MAX_MS = 2_000;

export class ClosedError extends Error {
  constructor(what: string) {
    super(`the server is closing; gave up on: ${what}`);
  }
}

export class Durable {
  private closed = false;

  constructor(private readonly log: FastifyBaseLogger) {}

  /** Runs `write` until it succeeds. `write` must be idempotent: a try may have committed before its answer was lost. */
  async write<T>(what: string, write: () => Promise<T>): Promise<T> {
    for (let attempt = 1, wait = RETRY_FIRST_MS; ; attempt++, wait = Math.min(wait * 2, RETRY_MAX_MS)) {
      if (this.closed) throw new ClosedError(what);
      try {
        return await write();
      } catch (error) {
        if (this.closed) throw new ClosedError(what);
        this.log.warn({ err: error, attempt, retryInMs: wait }, `could not ${what}; retrying`);
        await delay(wait);
      }
    }
  }

  /** Stops retrying (the server is closing; the next start recovers what was left). */
  close(): void {
    this.closed = true;
  }
}
