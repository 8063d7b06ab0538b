/**
 * Failed logins counted over a sliding window, per (username, client address) and per client address. Past
 * either limit, further attempts from that address are refused (even with the right password) until the
 * oldest failure leaves the window. Attempts are counted when they begin, before the password is hashed, so
 * a burst of parallel guesses gets no more checks than the limit.
 *
 * Failures for one user from many addresses do not lock that user out (anyone could lock the admin out that
 * way): they slow every attempt for the user down instead, so a distributed guesser gains little while the
 * user, from an address of their own, still gets in.
 * In memory: a restart forgets, which costs an attacker a restart of the server, not of their script.
 */
import { TooManyRequestsError } from '@periscope/core';

export interface LoginLimits {
  /** Failures allowed per (user, address) and per address within the window (default 10). */
  maxFailures: number;
  windowMs: number;
  /** Failures of one user, from any address, after which each attempt for the user waits `slowdownMs`. */
  maxUserFailures: number;
  /** The wait of each attempt for a user under attack (default 1 s). */
  slowdownMs: number;
}

/** One login attempt, counted as a failure until it is told otherwise. */
export interface LoginAttempt {
  /** How long to wait before checking the password (a user under attack from many addresses). */
  delayMs: number;
  succeeded(): void;
}

const DEFAULTS: LoginLimits = { maxFailures: 10, windowMs: 5 * 60_000, maxUserFailures: 10, slowdownMs: 1000 };

export class LoginLimiter {
  private readonly failures = new Map<string, number[]>();
  private readonly limits: LoginLimits;

  constructor(limits: Partial<LoginLimits> = {}) {
    this.limits = { ...DEFAULTS, ...limits };
  }

  /**
   * Counts an attempt now (synchronously: the check and the count cannot interleave with another request's);
   * throws TOO_MANY_REQUESTS when the address, or the address for this user, has used up its failures.
   */
  begin(username: string, address: string, now = Date.now()): LoginAttempt {
    const keys = [pairKey(username, address), `address:${address}`];
    for (const key of keys) {
      const recent = this.recent(key, now);
      if (recent.length >= this.limits.maxFailures) {
        const retryAfter = Math.max(1, Math.ceil((recent[0]! + this.limits.windowMs - now) / 1000));
        throw new TooManyRequestsError(`Too many failed logins; try again in ${retryAfter} s.`, retryAfter);
      }
    }
    const user = userKey(username);
    const delayMs = this.recent(user, now).length >= this.limits.maxUserFailures ? this.limits.slowdownMs : 0;
    for (const key of [...keys, user]) this.failures.set(key, [...this.recent(key, now), now]);
    this.forgetStale(now);
    return {
      delayMs,
      // The right password: this attempt was no failure, and the address's earlier failures for the user go.
      succeeded: () => {
        this.failures.delete(keys[0]!);
        for (const key of [keys[1]!, user]) this.uncount(key, now);
      },
    };
  }

  private uncount(key: string, at: number): void {
    const times = this.failures.get(key);
    const i = times?.lastIndexOf(at) ?? -1;
    if (times && i >= 0) times.splice(i, 1);
  }

  private recent(key: string, now: number): number[] {
    return (this.failures.get(key) ?? []).filter((t) => t > now - this.limits.windowMs);
  }

  /** Keys of one-off failures would otherwise accumulate for the life of the process. */
  private forgetStale(now: number): void {
    if (this.failures.size <= 10_000) return;
    for (const key of [...this.failures.keys()]) if (this.recent(key, now).length === 0) this.failures.delete(key);
  }
}

const userKey = (username: string) => `user:${username.toLowerCase()}`;
const pairKey = (username: string, address: string) => `pair:${username.toLowerCase()}@${address}`;
