/**
 * Failed logins counted per username and per client address over a sliding window; past the limit, further
 * attempts are refused (even with the right password) until the oldest failure leaves the window.
 * In memory: a restart forgets, which costs an attacker a restart of the server, not of their script.
 */
import { TooManyRequestsError } from '@periscope/core';

export interface LoginLimits {
  /** Failures allowed per key within the window (default 10). */
  maxFailures: number;
  windowMs: number;
}

export class LoginLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(private readonly limits: LoginLimits = { maxFailures: 10, windowMs: 5 * 60_000 }) {}

  /** Throws TOO_MANY_REQUESTS when either key has used up its failures. */
  check(username: string, address: string, now = Date.now()): void {
    for (const key of keys(username, address)) {
      const recent = this.recent(key, now);
      if (recent.length >= this.limits.maxFailures) {
        const retryAfter = Math.max(1, Math.ceil((recent[0]! + this.limits.windowMs - now) / 1000));
        throw new TooManyRequestsError(`Too many failed logins; try again in ${retryAfter} s.`, retryAfter);
      }
    }
  }

  fail(username: string, address: string, now = Date.now()): void {
    for (const key of keys(username, address)) this.failures.set(key, [...this.recent(key, now), now]);
    // Keys of one-off failures would otherwise accumulate for the life of the process.
    if (this.failures.size > 10_000) for (const key of [...this.failures.keys()]) if (this.recent(key, now).length === 0) this.failures.delete(key);
  }

  /** A successful login clears the user's count (not the address's: one address may try many users). */
  succeed(username: string): void {
    this.failures.delete(`user:${username.toLowerCase()}`);
  }

  private recent(key: string, now: number): number[] {
    return (this.failures.get(key) ?? []).filter((t) => t > now - this.limits.windowMs);
  }
}

function keys(username: string, address: string): string[] {
  return [`user:${username.toLowerCase()}`, `address:${address}`];
}
