/**
 * A small seeded pseudo-random generator (mulberry32): 32 bits of state, so a searcher can put it in its
 * JSON snapshot and a restored searcher draws exactly the numbers the original would have drawn.
 * Not for anything security-related.
 */
export class Prng {
  /** The whole state: an unsigned 32-bit integer. */
  state: number;

  constructor(seed: number) {
    // Any finite number is a seed; fractions and values beyond 32 bits are folded in, not truncated away.
    const whole = Number.isFinite(seed) ? Math.trunc(seed) : 0;
    const high = Math.floor(whole / 2 ** 32);
    this.state = (whole ^ Math.imul(high, 0x9e3779b1)) >>> 0;
  }

  static fromState(state: number): Prng {
    const prng = new Prng(0);
    prng.state = state >>> 0;
    return prng;
  }

  /** A number in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return Math.min(n - 1, Math.floor(this.next() * n));
  }
}
