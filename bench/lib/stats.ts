/** Wall-clock milliseconds with sub-millisecond resolution, comparable with `date +%s%N` in a child. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Nearest-rank percentile (p in 0..100) of unsorted samples; NaN for none. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function median(samples: readonly number[]): number {
  return percentile(samples, 50);
}

/** Milliseconds since the epoch printed by `date +%s%N` (nanoseconds), kept to the microsecond. */
export function parseNanos(text: string): number {
  const ns = BigInt(text.trim());
  return Number(ns / 1000n) / 1000;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
