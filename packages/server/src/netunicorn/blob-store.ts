/**
 * What the netunicorn face keeps as the client sent it: the prepare request (its execution graphs are base64
 * of cloudpickle bytes) and each executor's latest report. Opaque text: the server never decodes, let alone
 * unpickles, any of it.
 */
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../db/schema.js';

const REQUEST = 'request';
const RESULT = 'result:';

/** An executor's latest report: `results` is base64(cloudpickle([Result, logs])), `state` 1 (running) or 2 (done). */
export interface ExecutorReport {
  results: string;
  state: number;
}

export class NetunicornBlobStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** In the transaction that creates the experiment, so a prepared experiment always has its graphs. */
  async putRequest(tx: Transaction<Database>, experimentId: string, request: unknown): Promise<void> {
    await tx.insertInto('netunicorn_blobs').values({ experiment_id: experimentId, key: REQUEST, data: JSON.stringify(request), updated_at: Date.now() }).execute();
  }

  async request(experimentId: string): Promise<unknown> {
    const row = await this.db.selectFrom('netunicorn_blobs').select('data').where('experiment_id', '=', experimentId).where('key', '=', REQUEST).executeTakeFirst();
    return row && JSON.parse(row.data);
  }

  async putReport(experimentId: string, executor: string, report: ExecutorReport): Promise<void> {
    const data = JSON.stringify(report);
    const now = Date.now();
    await this.db
      .insertInto('netunicorn_blobs')
      .values({ experiment_id: experimentId, key: RESULT + executor, data, updated_at: now })
      .onConflict((oc) => oc.columns(['experiment_id', 'key']).doUpdateSet({ data, updated_at: now }))
      .execute();
  }

  /** Executor name → its latest report. */
  async reports(experimentId: string): Promise<Map<string, ExecutorReport>> {
    const rows = await this.db.selectFrom('netunicorn_blobs').select(['key', 'data']).where('experiment_id', '=', experimentId).where('key', 'like', `${RESULT}%`).execute();
    return new Map(rows.map((r) => [r.key.slice(RESULT.length), JSON.parse(r.data) as ExecutorReport]));
  }
}
