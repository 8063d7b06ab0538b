import type { Kysely, Selectable } from 'kysely';
import type { CheckpointsTable, Database } from '../db/schema.js';

export interface CheckpointRecord {
  uuid: string;
  trialId: number;
  experimentId: string;
  stepsCompleted: number;
  state: 'COMPLETED' | 'DELETED';
  reportTime: number;
  resources: Record<string, number>;
  metadata: Record<string, unknown>;
}

export class CheckpointStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Records a checkpoint and makes it its trial's latest, in one transaction; false when the uuid exists. */
  async insert(record: CheckpointRecord): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      const inserted = await tx
        .insertInto('checkpoints')
        .values({
          uuid: record.uuid,
          trial_id: record.trialId,
          experiment_id: record.experimentId,
          steps_completed: record.stepsCompleted,
          state: record.state,
          report_time: record.reportTime,
          resources: JSON.stringify(record.resources),
          metadata: JSON.stringify(record.metadata),
        })
        .onConflict((oc) => oc.column('uuid').doNothing())
        .returning('uuid')
        .executeTakeFirst();
      if (!inserted) return false;
      await tx.updateTable('trials').set({ latest_checkpoint: record.uuid }).where('id', '=', record.trialId).execute();
      return true;
    });
  }

  async get(uuid: string): Promise<CheckpointRecord | undefined> {
    const row = await this.db.selectFrom('checkpoints').selectAll().where('uuid', '=', uuid).executeTakeFirst();
    return row && toRecord(row);
  }

  async ofTrial(trialId: number): Promise<CheckpointRecord[]> {
    return (await this.db.selectFrom('checkpoints').selectAll().where('trial_id', '=', trialId).orderBy('steps_completed').orderBy('report_time').execute()).map(toRecord);
  }

  async ofExperiment(experimentId: string): Promise<CheckpointRecord[]> {
    return (await this.db.selectFrom('checkpoints').selectAll().where('experiment_id', '=', experimentId).orderBy('report_time').execute()).map(toRecord);
  }

  async setMetadata(uuid: string, metadata: Record<string, unknown>): Promise<void> {
    await this.db.updateTable('checkpoints').set({ metadata: JSON.stringify(metadata) }).where('uuid', '=', uuid).execute();
  }

  async markDeleted(uuid: string): Promise<void> {
    await this.db.updateTable('checkpoints').set({ state: 'DELETED', resources: '{}' }).where('uuid', '=', uuid).execute();
  }

  async deleteExperiment(experimentId: string): Promise<void> {
    await this.db.deleteFrom('checkpoints').where('experiment_id', '=', experimentId).execute();
  }
}

function toRecord(row: Selectable<CheckpointsTable>): CheckpointRecord {
  return {
    uuid: row.uuid,
    trialId: Number(row.trial_id),
    experimentId: row.experiment_id,
    stepsCompleted: Number(row.steps_completed),
    state: row.state as CheckpointRecord['state'],
    reportTime: Number(row.report_time),
    resources: JSON.parse(row.resources) as Record<string, number>,
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
  };
}
