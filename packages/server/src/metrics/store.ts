import { reportTimes, type MetricGroup, type MetricValue } from '@periscope/core';
import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../db/migrations.js';
import type { Database } from '../db/schema.js';

export interface StoredReport {
  group: MetricGroup;
  stepsCompleted: number;
  metrics: Record<string, MetricValue>;
  reportedAt: number;
}

export interface StoredPoint {
  group: MetricGroup;
  stepsCompleted: number;
  value: MetricValue;
  reportedAt: number;
}

/** Metric reports, one row per (trial, group, step) report; written in batches inside one transaction. */
export class MetricStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  /**
   * Appends a batch and moves the trial's summary (steps, latest and best value of `summaryMetric`) in the
   * same transaction, so readers never see one without the other.
   */
  async append(trialId: number, group: MetricGroup, reports: { stepsCompleted: number; metrics: Record<string, MetricValue> }[], summary: { metric: string | null; smallerIsBetter: boolean }): Promise<void> {
    const now = Date.now();
    await this.db.transaction().execute(async (tx) => {
      // Inserted in chunks: a batch of 10,000 reports stays under every driver's bound-parameter limit.
      for (let i = 0; i < reports.length; i += 2000) {
        await tx
          .insertInto('metrics')
          .values(reports.slice(i, i + 2000).map((r) => ({ trial_id: trialId, grp: group, steps_completed: r.stepsCompleted, metrics: JSON.stringify(r.metrics), reported_at: now })))
          .execute();
      }
      // What this batch alone says; the trial's row is then moved by one statement, which the database
      // evaluates against the row as it is when the statement runs (PostgreSQL re-reads a row another
      // transaction changed before applying SET), so concurrent batches never overwrite each other's steps or best.
      let steps: number | undefined;
      let best: number | undefined;
      let latest: number | undefined;
      for (const r of reports) {
        if (steps === undefined || r.stepsCompleted > steps) steps = r.stepsCompleted;
        const value = summary.metric !== null && group === 'validation' ? r.metrics[summary.metric] : undefined;
        // NaN and the infinities are stored with the report but never become a best or latest value.
        if (typeof value !== 'number' || !Number.isFinite(value)) continue;
        latest = value;
        if (best === undefined || (summary.smallerIsBetter ? value < best : value > best)) best = value;
      }
      if (steps === undefined) return;
      const stepsValue = sql<number>`cast(${steps} as bigint)`;
      const bestValue = best === undefined ? undefined : sql<number>`cast(${best} as double precision)`;
      await tx
        .updateTable('trials')
        .set({
          steps_completed: sql`case when steps_completed is null or steps_completed < ${stepsValue} then ${stepsValue} else steps_completed end`,
          ...(bestValue && {
            best_validation: summary.smallerIsBetter
              ? sql`case when best_validation is null or ${bestValue} < best_validation then ${bestValue} else best_validation end`
              : sql`case when best_validation is null or ${bestValue} > best_validation then ${bestValue} else best_validation end`,
          }),
          ...(latest !== undefined && { latest_validation: latest }),
        })
        .where('id', '=', trialId)
        .execute();
    });
  }

  /** One page of reports in step order, whole. */
  async reports(trialId: number, group: MetricGroup | undefined, limit: number, afterSteps: number | undefined): Promise<StoredReport[]> {
    let query = this.db.selectFrom('metrics').select(['grp', 'steps_completed', 'metrics', 'reported_at']).where('trial_id', '=', trialId);
    if (group) query = query.where('grp', '=', group);
    if (afterSteps !== undefined) query = query.where('steps_completed', '>', afterSteps);
    const rows = await query.orderBy('steps_completed').orderBy('id').limit(limit).execute();
    return rows.map((r) => ({ group: r.grp as MetricGroup, stepsCompleted: Number(r.steps_completed), metrics: JSON.parse(r.metrics) as Record<string, MetricValue>, reportedAt: Number(r.reported_at) }));
  }

  /**
   * One metric's points in step order (a chart series): only the value is taken out of each report, in SQL,
   * so a 100k-point read does not parse 100k whole reports in the server. Reports without it are left out in
   * SQL, before the limit, so a page is full whenever enough reports carry it.
   */
  async series(trialId: number, group: MetricGroup | undefined, limit: number, afterSteps: number | undefined, name: string): Promise<StoredPoint[]> {
    // The name is a bound value, never part of a JSON path: any key (quotes, dots, `$`) matches exactly.
    const value = this.dialect === 'postgres' ? sql<MetricValue>`cast(metrics as jsonb) -> ${name}` : sql<MetricValue>`point.value`;
    let query = this.db.selectFrom('metrics').select(['grp', 'steps_completed', 'reported_at', value.as('value')]).where('trial_id', '=', trialId);
    if (this.dialect === 'postgres') query = query.where(sql<boolean>`(cast(metrics as jsonb) -> ${name}) is not null`);
    else query = query.innerJoin(sql<{ key: string; value: MetricValue }>`json_each(metrics.metrics)`.as('point'), (join) => join.on('point.key', '=', name));
    if (group) query = query.where('grp', '=', group);
    if (afterSteps !== undefined) query = query.where('steps_completed', '>', afterSteps);
    const rows = await query.orderBy('steps_completed').orderBy('metrics.id').limit(limit).execute();
    return rows.map((r) => ({ group: r.grp as MetricGroup, stepsCompleted: Number(r.steps_completed), value: r.value, reportedAt: Number(r.reported_at) }));
  }

  /**
   * `series` as the answer's own text: the MetricReport items (`{"group":…,"stepsCompleted":…,"metrics":{name:
   * value},"time":…}`), comma-separated, built by the database in one string. The value is the report's own
   * JSON text of it (what JSON.stringify wrote when it was stored), so the answer is byte for byte what
   * serializing `series` gives, without 100k row objects: those, and serializing them, were most of a long
   * series' time. Null when SQLite cannot address the name by a JSON path (a `"`, a backslash or a control
   * character in it): the caller then uses `series`.
   */
  async seriesJson(trialId: number, group: MetricGroup | undefined, limit: number, afterSteps: number | undefined, name: string): Promise<string | null> {
    const postgres = this.dialect === 'postgres';
    if (!postgres && /["\\\u0000-\u001f]/.test(name)) return null;
    // A bound value, never SQL: SQLite's path `$."<name>"`, PostgreSQL's key (json, not jsonb: `->` keeps the text).
    const value = postgres ? sql`cast(metrics as json) -> ${name}` : sql`metrics -> ${`$."${name}"`}`;
    const text = postgres ? sql`cast(value as text)` : sql`value`;
    const mark = postgres ? sql`chr(1)` : sql`char(1)`;
    // SQLite concatenates the rows in the order the subquery yields them (an ORDER BY inside the aggregate
    // would sort the 12 MB of items again in a temporary b-tree: 250-540 ms against 200 for 100k points).
    // PostgreSQL does not promise that order (it usually keeps it), so it is said there.
    const aggregate = postgres ? sql`string_agg(item, ',' order by steps_completed, id)` : sql`group_concat(item, ',')`;
    const filters = sql.join([sql`trial_id = ${trialId}`, ...(group ? [sql`grp = ${group}`] : []), ...(afterSteps !== undefined ? [sql`steps_completed > ${afterSteps}`] : [])], sql` and `);
    // The report time is marked (\u0001 around its millis, a byte JSON never holds raw) and formatted here, once per batch.
    const { rows } = await sql<{ items: string | null }>`
      select ${aggregate} as items from (
        select '{"group":"' || grp || '","stepsCompleted":' || steps_completed || ',"metrics":{' || ${JSON.stringify(name)} || ':' || ${text} || '},"time":"' || ${mark} || reported_at || ${mark} || '"}' as item, steps_completed, id
        from (select grp, steps_completed, reported_at, id, ${value} as value from metrics where ${filters}) as reports
        where value is not null order by steps_completed, id limit ${limit}
      ) as points`.execute(this.db);
    const items = rows[0]?.items ?? '';
    const parts = items.split('\u0001');
    const time = reportTimes();
    for (let i = 1; i < parts.length; i += 2) parts[i] = time(Number(parts[i]));
    return parts.join('');
  }

  /** The validation metrics reported at exactly this step (the last such report wins). */
  async validationAt(trialId: number, stepsCompleted: number): Promise<Record<string, MetricValue> | null> {
    const row = await this.db
      .selectFrom('metrics')
      .select('metrics')
      .where('trial_id', '=', trialId)
      .where('grp', '=', 'validation')
      .where('steps_completed', '=', stepsCompleted)
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row ? (JSON.parse(row.metrics) as Record<string, MetricValue>) : null;
  }
}
