import type { Generated } from 'kysely';

/** Times are epoch milliseconds (UTC). pg hands bigint back as a string; rows are mapped through Number(). */
type Millis = number | string;

export interface ExperimentsTable {
  /** Paging key: insertion order, never reused. */
  seq: Generated<number>;
  id: string;
  uid: string;
  name: string;
  /** Canonical status (core/status.ts), never a face's name. */
  status: string;
  /** The normalized spec as JSON text. */
  spec: string;
  accepted_at: Millis | null;
  created_at: Millis | null;
  running_at: Millis | null;
  finished_at: Millis | null;
  message: string | null;
  updated_at: Millis;
}

export interface EnvironmentsTable {
  name: string;
  environment_id: string;
  spec: string;
  created_at: Millis;
  updated_at: Millis;
}

export interface Database {
  experiments: ExperimentsTable;
  environments: EnvironmentsTable;
}
