import { sql, type ColumnDefinitionBuilder, type Kysely, type Migration } from 'kysely';

export type Dialect = 'sqlite' | 'postgres';

/**
 * Append-only, numbered. One set for both dialects; only the auto-increment key differs.
 * Never edit a migration that has shipped: add the next one.
 */
export function migrations(dialect: Dialect): Record<string, Migration> {
  const autoKey = (col: ColumnDefinitionBuilder) =>
    dialect === 'sqlite' ? col.primaryKey().autoIncrement() : col.primaryKey().generatedByDefaultAsIdentity();
  return {
    '0001_experiments_and_environments': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('experiments')
          .addColumn('seq', dialect === 'sqlite' ? 'integer' : 'bigint', autoKey)
          .addColumn('id', 'text', (c) => c.notNull().unique())
          .addColumn('uid', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('spec', 'text', (c) => c.notNull())
          .addColumn('accepted_at', 'bigint')
          .addColumn('created_at', 'bigint')
          .addColumn('running_at', 'bigint')
          .addColumn('finished_at', 'bigint')
          .addColumn('message', 'text')
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();
        // The status filter of the list routes pages by seq within one status.
        await db.schema.createIndex('experiments_status_seq').on('experiments').columns(['status', 'seq']).execute();
        await db.schema
          .createTable('environments')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('environment_id', 'text', (c) => c.notNull().unique())
          .addColumn('spec', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();
      },
      async down(db: Kysely<any>) {
        await db.schema.dropTable('environments').execute();
        await db.schema.dropTable('experiments').execute();
      },
    },
    '0002_trials_and_executors': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('trials')
          .addColumn('id', dialect === 'sqlite' ? 'integer' : 'bigint', autoKey)
          .addColumn('experiment_id', 'text', (c) => c.notNull())
          .addColumn('number', 'integer', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('priority', 'integer', (c) => c.notNull())
          .addColumn('restarts', 'integer', (c) => c.notNull())
          .addColumn('hparams', 'text', (c) => c.notNull())
          .addColumn('message', 'text')
          .addColumn('queued_at', 'bigint', (c) => c.notNull())
          .addColumn('started_at', 'bigint')
          .addColumn('finished_at', 'bigint')
          .addUniqueConstraint('trials_experiment_number', ['experiment_id', 'number'])
          .execute();
        // Recovery and the scheduler read the unfinished trials.
        await db.schema.createIndex('trials_state').on('trials').column('state').execute();
        await db.schema
          .createTable('executors')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('trial_id', 'bigint', (c) => c.notNull())
          .addColumn('experiment_id', 'text', (c) => c.notNull())
          .addColumn('role', 'text', (c) => c.notNull())
          .addColumn('replica', 'integer', (c) => c.notNull())
          .addColumn('rank', 'integer', (c) => c.notNull())
          .addColumn('node', 'text')
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('pid', 'integer')
          .addColumn('exit_code', 'integer')
          .addColumn('signal', 'text')
          .addColumn('cause', 'text')
          .addColumn('gpus', 'text')
          .addColumn('started_at', 'bigint')
          .addColumn('finished_at', 'bigint')
          .execute();
        await db.schema.createIndex('executors_trial').on('executors').column('trial_id').execute();
        await db.schema.createIndex('executors_experiment').on('executors').column('experiment_id').execute();
      },
      async down(db: Kysely<any>) {
        await db.schema.dropTable('executors').execute();
        await db.schema.dropTable('trials').execute();
      },
    },
    '0003_execution_names_and_flags': {
      async up(db: Kysely<any>) {
        // The netunicorn face keys experiments by a client-chosen name, unique among live experiments.
        await db.schema.alterTable('experiments').addColumn('execution_name', 'text').execute();
        await db.schema.createIndex('experiments_execution_name').on('experiments').column('execution_name').unique().execute();
        // The canonical spec of a prepared execution, compared when a prepare is retried.
        await db.schema.alterTable('experiments').addColumn('request_digest', 'text').execute();
        await db.schema
          .createTable('flags')
          .addColumn('experiment_id', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('text_value', 'text')
          .addColumn('int_value', 'bigint')
          .addColumn('version', 'integer', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('flags_pk', ['experiment_id', 'name'])
          .execute();
        await db.schema.alterTable('executors').addColumn('cancel_requested', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      },
      async down(db: Kysely<any>) {
        await db.schema.dropTable('flags').execute();
        await db.schema.dropIndex('experiments_execution_name').execute();
        await db.schema.alterTable('experiments').dropColumn('execution_name').execute();
        await db.schema.alterTable('experiments').dropColumn('request_digest').execute();
        await db.schema.alterTable('executors').dropColumn('cancel_requested').execute();
      },
    },
    '0004_metrics_and_checkpoints': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('metrics')
          .addColumn('id', dialect === 'sqlite' ? 'integer' : 'bigint', autoKey)
          .addColumn('trial_id', 'bigint', (c) => c.notNull())
          .addColumn('grp', 'text', (c) => c.notNull())
          .addColumn('steps_completed', 'bigint', (c) => c.notNull())
          .addColumn('metrics', 'text', (c) => c.notNull())
          .addColumn('reported_at', 'bigint', (c) => c.notNull())
          .execute();
        // Charts read one trial's group in step order.
        await db.schema.createIndex('metrics_trial_group_steps').on('metrics').columns(['trial_id', 'grp', 'steps_completed']).execute();
        await db.schema
          .createTable('checkpoints')
          .addColumn('uuid', 'text', (c) => c.primaryKey())
          .addColumn('trial_id', 'bigint', (c) => c.notNull())
          .addColumn('experiment_id', 'text', (c) => c.notNull())
          .addColumn('steps_completed', 'bigint', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('report_time', 'bigint', (c) => c.notNull())
          .addColumn('resources', 'text', (c) => c.notNull())
          .addColumn('metadata', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('checkpoints_trial').on('checkpoints').column('trial_id').execute();
        await db.schema.createIndex('checkpoints_experiment').on('checkpoints').column('experiment_id').execute();
        // Per-trial summaries kept current as reports arrive, so "best" never scans the metrics.
        await db.schema.alterTable('trials').addColumn('steps_completed', 'bigint').execute();
        await db.schema.alterTable('trials').addColumn('best_validation', 'double precision').execute();
        await db.schema.alterTable('trials').addColumn('latest_validation', 'double precision').execute();
        await db.schema.alterTable('trials').addColumn('latest_checkpoint', 'text').execute();
      },
      async down(db: Kysely<any>) {
        await db.schema.dropTable('metrics').execute();
        await db.schema.dropTable('checkpoints').execute();
        for (const column of ['steps_completed', 'best_validation', 'latest_validation', 'latest_checkpoint']) {
          await db.schema.alterTable('trials').dropColumn(column).execute();
        }
      },
    },
    '0005_search_state': {
      async up(db: Kysely<any>) {
        // The searcher's snapshot, written after every event, so a restart resumes the search where it was.
        await db.schema.alterTable('experiments').addColumn('searcher_state', 'text').execute();
        await db.schema.alterTable('trials').addColumn('request_id', 'text').execute();
        await db.schema.alterTable('trials').addColumn('length_budget', 'double precision').execute();
        await db.schema.alterTable('trials').addColumn('stop_requested', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      },
      async down(db: Kysely<any>) {
        await db.schema.alterTable('experiments').dropColumn('searcher_state').execute();
        for (const column of ['request_id', 'length_budget', 'stop_requested']) await db.schema.alterTable('trials').dropColumn(column).execute();
      },
    },
    '0006_model_registry': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('models')
          .addColumn('id', dialect === 'sqlite' ? 'integer' : 'bigint', autoKey)
          .addColumn('name', 'text', (c) => c.notNull().unique())
          .addColumn('description', 'text', (c) => c.notNull())
          .addColumn('metadata', 'text', (c) => c.notNull())
          .addColumn('archived', 'integer', (c) => c.notNull())
          .addColumn('owner', 'text')
          .addColumn('workspace', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('model_labels')
          .addColumn('model_id', 'bigint', (c) => c.notNull())
          .addColumn('label', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('model_labels_pk', ['model_id', 'label'])
          .execute();
        await db.schema.createIndex('model_labels_label').on('model_labels').column('label').execute();
        await db.schema
          .createTable('model_versions')
          .addColumn('model_id', 'bigint', (c) => c.notNull())
          .addColumn('version', 'integer', (c) => c.notNull())
          .addColumn('checkpoint_uuid', 'text', (c) => c.notNull())
          .addColumn('name', 'text')
          .addColumn('comment', 'text')
          .addColumn('notes', 'text')
          .addColumn('metadata', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('model_versions_pk', ['model_id', 'version'])
          .execute();
        await db.schema.createIndex('model_versions_checkpoint').on('model_versions').column('checkpoint_uuid').execute();
      },
      async down(db: Kysely<any>) {
        await db.schema.dropTable('model_versions').execute();
        await db.schema.dropTable('model_labels').execute();
        await db.schema.dropTable('models').execute();
      },
    },
    '0007_users_tokens_and_owners': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('users')
          .addColumn('id', dialect === 'sqlite' ? 'integer' : 'bigint', autoKey)
          .addColumn('username', 'text', (c) => c.notNull().unique())
          .addColumn('password_hash', 'text', (c) => c.notNull())
          .addColumn('admin', 'integer', (c) => c.notNull())
          .addColumn('active', 'integer', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        // A token is `<selector>.<secret>`: the selector finds the row, the secret's hash is compared in
        // constant time, so neither a lookup nor a comparison leaks anything about a valid token.
        await db.schema
          .createTable('tokens')
          .addColumn('selector', 'text', (c) => c.primaryKey())
          .addColumn('verifier', 'text', (c) => c.notNull())
          .addColumn('user_id', 'bigint', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('trial_id', 'bigint')
          .addColumn('experiment_id', 'text')
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('tokens_user').on('tokens').column('user_id').execute();
        await db.schema.createIndex('tokens_trial').on('tokens').column('trial_id').execute();
        // What existed before users belongs to the first admin, who is always called admin.
        for (const table of ['experiments', 'environments']) {
          await db.schema.alterTable(table).addColumn('owner', 'text').execute();
          await db.updateTable(table).set({ owner: 'admin' }).execute();
        }
        await db.updateTable('models').set({ owner: 'admin' }).where('owner', 'is', null).execute();
        await db.schema.createIndex('experiments_owner_seq').on('experiments').columns(['owner', 'seq']).execute();
        // netunicorn's names are unique per user, not across the server.
        await db.schema.dropIndex('experiments_execution_name').execute();
        await db.schema.createIndex('experiments_owner_execution_name').on('experiments').columns(['owner', 'execution_name']).unique().execute();
      },
      async down(db: Kysely<any>) {
        await db.schema.dropIndex('experiments_owner_execution_name').execute();
        await db.schema.createIndex('experiments_execution_name').on('experiments').column('execution_name').unique().execute();
        await db.schema.dropIndex('experiments_owner_seq').execute();
        for (const table of ['experiments', 'environments']) await db.schema.alterTable(table).dropColumn('owner').execute();
        await db.schema.dropTable('tokens').execute();
        await db.schema.dropTable('users').execute();
      },
    },
    '0008_durable_cancel_and_run_spec': {
      async up(db: Kysely<any>) {
        // Written before a cancel is answered: recovery and the reconciler finish a cancel the server died in.
        await db.schema.alterTable('experiments').addColumn('cancel_requested_at', 'bigint').execute();
        // The spec a trial was created with: its restarts and recovery plan the same executors, whatever a PATCH did.
        await db.schema.alterTable('trials').addColumn('run_spec', 'text').execute();
      },
      async down(db: Kysely<any>) {
        await db.schema.alterTable('trials').dropColumn('run_spec').execute();
        await db.schema.alterTable('experiments').dropColumn('cancel_requested_at').execute();
      },
    },
    '0009_executor_handles_and_faults': {
      async up(db: Kysely<any>) {
        // What the launcher answered for the executor (a pid for local, a job step for a cluster): cancel and
        // recovery go through it, not through a pid.
        await db.schema.alterTable('executors').addColumn('handle', 'text').execute();
        // Whose fault its end was: user (its code), platform (node, engine, server), cancel (asked for).
        await db.schema.alterTable('executors').addColumn('fault', 'text').execute();
        await db.updateTable('executors').set({ handle: sql`CAST(pid AS TEXT)` }).where('pid', 'is not', null).execute();
      },
      async down(db: Kysely<any>) {
        await db.schema.alterTable('executors').dropColumn('fault').execute();
        await db.schema.alterTable('executors').dropColumn('handle').execute();
      },
    },
    '0010_owner_status_index': {
      async up(db: Kysely<any>) {
        // A non-admin's status filter (?status=Running&limit=50) otherwise walks the owner's whole history
        // through (owner, seq) and tests each row's status: 73 ms at 100k experiments.
        await db.schema.createIndex('experiments_owner_status_seq').on('experiments').columns(['owner', 'status', 'seq']).execute();
      },
      async down(db: Kysely<any>) {
        await db.schema.dropIndex('experiments_owner_status_seq').execute();
      },
    },
    '0011_determined_face': {
      async up(db: Kysely<any>) {
        // A second scrypt verifier, of the pre-hash the Determined SDK sends instead of the password
        // (determined/login.ts); null for users whose password was set before this, until their next login.
        await db.schema.alterTable('users').addColumn('determined_hash', 'text').execute();
        // The Determined config an experiment was created from through /determined, echoed back as sent.
        await db.schema
          .createTable('determined_configs')
          .addColumn('experiment_id', 'text', (c) => c.primaryKey())
          .addColumn('original', 'text', (c) => c.notNull())
          .addColumn('config', 'text', (c) => c.notNull())
          .execute();
      },
      async down(db: Kysely<any>) {
        await db.schema.dropTable('determined_configs').execute();
        await db.schema.alterTable('users').dropColumn('determined_hash').execute();
      },
    },
    '0012_netunicorn_face': {
      async up(db: Kysely<any>) {
        // What the netunicorn face keeps opaque (netunicorn/blob-store.ts): the prepare request with its
        // pickled execution graphs, and each executor's latest pickled results. Never unpickled by the server.
        await db.schema
          .createTable('netunicorn_blobs')
          .addColumn('experiment_id', 'text', (c) => c.notNull())
          .addColumn('key', 'text', (c) => c.notNull())
          .addColumn('data', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('netunicorn_blobs_pk', ['experiment_id', 'key'])
          .execute();
      },
      async down(db: Kysely<any>) {
        await db.schema.dropTable('netunicorn_blobs').execute();
      },
    },
  };
}
