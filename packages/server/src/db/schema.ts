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
  /** The netunicorn face's key (PUT /api/v1/executions/{name}); null for other experiments. */
  execution_name: string | null;
  /** Digest of the spec an execution was prepared with, to tell a retry from a conflicting prepare. */
  request_digest: string | null;
  /** The searcher's JSON snapshot (search experiments only). */
  searcher_state: string | null;
  /** Username of the creator; only they (and admins) see it. */
  owner: string;
  /** When a cancel was asked for (durable intent: the experiment ends Canceled even across a crash). */
  cancel_requested_at: Millis | null;
}

export interface FlagsTable {
  experiment_id: string;
  name: string;
  text_value: string | null;
  int_value: number | string | null;
  /** Bumped by every change; long-polls wait for a version past the one they saw. */
  version: number;
  updated_at: Millis;
}

export interface EnvironmentsTable {
  name: string;
  /** Username of the creator: everyone may use it, only they (and admins) change it. */
  owner: string;
  environment_id: string;
  spec: string;
  created_at: Millis;
  updated_at: Millis;
}

export interface TrialsTable {
  id: Generated<number>;
  experiment_id: string;
  /** 1..n within the experiment. */
  number: number;
  /** TrialState (trials/store.ts). */
  state: string;
  priority: number;
  restarts: number;
  /** Hyperparameter assignment as JSON text ("{}" for a plain experiment). */
  hparams: string;
  message: string | null;
  queued_at: Millis;
  started_at: Millis | null;
  finished_at: Millis | null;
  steps_completed: number | string | null;
  /** Best and latest value of the searcher's metric among validation reports. */
  best_validation: number | null;
  latest_validation: number | null;
  latest_checkpoint: string | null;
  /** The searcher's name for this trial. */
  request_id: string | null;
  /** Train until this length (the searcher's budget); null without a searcher. */
  length_budget: number | null;
  /** 1 once the searcher asked it to stop. */
  stop_requested: Generated<number>;
  /** The normalized spec the trial was created with (JSON); null for trials written before it was kept. */
  run_spec: string | null;
}

export interface MetricsTable {
  id: Generated<number>;
  trial_id: number | string;
  /** training | validation */
  grp: string;
  steps_completed: number | string;
  /** `{name: number}` as JSON text. */
  metrics: string;
  reported_at: Millis;
}

export interface CheckpointsTable {
  uuid: string;
  trial_id: number | string;
  experiment_id: string;
  steps_completed: number | string;
  /** COMPLETED | DELETED */
  state: string;
  report_time: Millis;
  /** `{relative path: bytes}` as JSON text. */
  resources: string;
  metadata: string;
}

export interface ExecutorsTable {
  /** Submarine's pod name: `<experimentId>-<role lowercased>-<replica>` (trial 1). */
  name: string;
  trial_id: number | string;
  experiment_id: string;
  role: string;
  replica: number;
  rank: number;
  node: string | null;
  /** ExecutorState (trials/store.ts). */
  state: string;
  pid: number | null;
  /** The launcher's handle for it (launcher.ts ExecutorHandle). */
  handle: string | null;
  exit_code: number | null;
  signal: string | null;
  /** Why it ended, in words, when not a plain exit. */
  cause: string | null;
  /** ExitFault (launcher.ts), once it ended. */
  fault: string | null;
  /** Assigned GPU indices, comma-separated. */
  gpus: string | null;
  started_at: Millis | null;
  finished_at: Millis | null;
  /** 1 when this executor alone was asked to stop (netunicorn's cancel of executors). */
  cancel_requested: Generated<number>;
}

export interface ModelsTable {
  id: Generated<number>;
  name: string;
  description: string;
  metadata: string;
  archived: number;
  owner: string | null;
  workspace: string;
  created_at: Millis;
  updated_at: Millis;
}

export interface ModelLabelsTable {
  model_id: number | string;
  label: string;
}

export interface ModelVersionsTable {
  model_id: number | string;
  /** 1..n within the model, never reused. */
  version: number;
  checkpoint_uuid: string;
  name: string | null;
  comment: string | null;
  notes: string | null;
  metadata: string;
  created_at: Millis;
}

export interface UsersTable {
  id: Generated<number>;
  username: string;
  /** `scrypt$N$r$p$salt$hash` (users/passwords.ts). */
  password_hash: string;
  /** scrypt of the Determined SDK's pre-hash of the same password; null until set (users/passwords.ts). */
  determined_hash: string | null;
  admin: number;
  active: number;
  created_at: Millis;
}

export interface DeterminedConfigsTable {
  experiment_id: string;
  /** The YAML text as the client sent it. */
  original: string;
  /** The parsed config as JSON, with what the face filled in (checkpoint_storage). */
  config: string;
}

export interface TokensTable {
  selector: string;
  /** sha256 of the token's secret part, hex. */
  verifier: string;
  user_id: number | string;
  /** session (a login) | task (an executor's, bound to its trial) */
  kind: string;
  trial_id: number | string | null;
  experiment_id: string | null;
  expires_at: Millis;
  created_at: Millis;
}

export interface NetunicornBlobsTable {
  experiment_id: string;
  /** `request` (the prepare body as sent) or `result:<executor>` (its latest report). */
  key: string;
  data: string;
  updated_at: Millis;
}

export interface Database {
  users: UsersTable;
  tokens: TokensTable;
  experiments: ExperimentsTable;
  environments: EnvironmentsTable;
  trials: TrialsTable;
  executors: ExecutorsTable;
  flags: FlagsTable;
  metrics: MetricsTable;
  checkpoints: CheckpointsTable;
  models: ModelsTable;
  model_labels: ModelLabelsTable;
  model_versions: ModelVersionsTable;
  determined_configs: DeterminedConfigsTable;
  netunicorn_blobs: NetunicornBlobsTable;
}
