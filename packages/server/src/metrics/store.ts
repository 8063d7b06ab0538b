import type { MetricGroup } from '@periscope/core';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

export interface StoredReport {
  group: MetricGroup;
  stepsCompleted: number;
  metrics: Record<string, number>;
  reportedAt: number;
}

/** Metric reports, one row per (trial, group, step) report; written in batches inside one transaction. */
export class MetricStore {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Appends a batch and moves the trial's summary (steps, latest and best value of `summaryMetric`) in the
   * same transaction, so readers never see one without the other.
   */
  async append(trialId: number, group: MetricGroup, reports: { stepsCompleted: number; metrics: Record<string, number> }[], summary: { metric: string | null; smallerIsBetter: boolean }): Promise<void> {
    const now = Date.now();
    await this.db.transaction().execute(async (tx) => {
      // Inserted in chunks: a batch of 10,000 reports stays under every driver's bound-parameter limit.
      for (let i = 0; i < reports.length; i += 2000) {
        await tx
          .insertInto('metrics')
          .values(reports.slice(i, i + 2000).map((r) => ({ trial_id: trialId, grp: group, steps_completed: r.stepsCompleted, metrics: JSON.stringify(r.metrics), reported_at: now })))
          .execute();
      }
      const trial = await tx.selectFrom('trials').select(['steps_completed', 'best_validation']).where('id', '=', trialId).executeTakeFirstOrThrow();
      let steps = trial.steps_completed === null ? null : Number(trial.steps_completed);
      let best = trial.best_validation;
      let latest: number | undefined;
      for (const r of reports) {
        if (steps === null || r.stepsCompleted > steps) steps = r.stepsCompleted;
        const value = summary.metric !== null && group === 'validation' ? r.metrics[summary.metric] : undefined;
        if (value === undefined) continue;
        latest = value;
        if (best === null || (summary.smallerIsBetter ? value < best : value > best)) best = value;
      }
      await tx
        .updateTable('trials')
        .set({ steps_completed: steps, best_validation: best, ...(latest !== undefined && { latest_validation: latest }) })
        .where('id', '=', trialId)
        .execute();
    });
  }

  async reports(trialId: number, group: MetricGroup | undefined, limit: number, afterSteps: number | undefined): Promise<StoredReport[]> {
    let query = this.db.selectFrom('metrics').select(['grp', 'steps_completed', 'metrics', 'reported_at']).where('trial_id', '=', trialId);
    if (group) query = query.where('grp', '=', group);
    if (afterSteps !== undefined) query = query.where('steps_completed', '>', afterSteps);
    const rows = await query.orderBy('steps_completed').orderBy('id').limit(limit).execute();
    return rows.map((r) => ({ group: r.grp as MetricGroup, stepsCompleted: Number(r.steps_completed), metrics: JSON.parse(r.metrics) as Record<string, number>, reportedAt: Number(r.reported_at) }));
  }

  /** The validation metrics reported at exactly this step (the last such report wins). */
  async validationAt(trialId: number, stepsCompleted: number): Promise<Record<string, number> | null> {
    const row = await this.db
      .selectFrom('metrics')
      .select('metrics')
      .where('trial_id', '=', trialId)
      .where('grp', '=', 'validation')
      .where('steps_completed', '=', stepsCompleted)
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row ? (JSON.parse(row.metrics) as Record<string, number>) : null;
  }
}
