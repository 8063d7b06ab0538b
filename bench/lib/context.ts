import type { Row } from './report.js';
import type { Scope } from './scope.js';

export interface Context {
  /** Small sizes, so the whole suite runs in well under a minute (CI). */
  quick: boolean;
  /** Which databases the store-bound benchmarks run on: `sqlite`, `postgres`. */
  databases: readonly string[];
  /** Progress for the person watching (stderr). */
  log(message: string): void;
}

export interface Benchmark {
  /** Short name for `--only`. */
  name: string;
  title: string;
  run(ctx: Context, scope: Scope): Promise<Row[]>;
}
