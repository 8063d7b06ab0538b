/** Every trial's metric on one chart (compare a search's trials), and best validation against each hyperparameter. */
import { useMemo } from 'react';
import type uPlot from 'uplot';
import { periscope } from '../../api';
import { Alert } from '../../components/alert';
import { MetricChart, seriesColor, type ChartSeries } from '../../charts/metric-chart';
import { navigate, useLocation, withQuery } from '../../router';
import type { Trial } from '@periscope/sdk';
import { useDebounced, useLoad } from '../../use-load';

type Group = 'training' | 'validation';
interface Report {
  stepsCompleted: number;
  metrics: Record<string, number | string>;
}

/** NaN and the infinities travel as strings; they are not plotted. */
function plottable(value: number | string | undefined): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

export function MetricsTab({ trials, version }: { trials: Trial[] | undefined; version: number }) {
  const { path, query } = useLocation();
  const group: Group = query.get('group') === 'validation' ? 'validation' : 'training';
  const ids = trials?.map((t) => t.id).join(',') ?? '';
  // Reports arrive in bursts: refetch once a burst has passed, not per report.
  const settledVersion = useDebounced(version, 1000);

  const reports = useLoad<Map<number, Report[]>>(
    async (signal) => {
      const all = new Map<number, Report[]>();
      await Promise.all(
        (trials ?? []).map(async (t) => {
          const trial = await periscope().getTrial(t.id, { signal });
          const list: Report[] = [];
          for await (const report of trial.metrics({ group, signal })) list.push(report);
          all.set(t.id, list);
        }),
      );
      return all;
    },
    [ids, group, settledVersion],
  );

  const names = useMemo(() => {
    const seen = new Set<string>();
    for (const list of reports.data?.values() ?? []) for (const r of list) for (const name of Object.keys(r.metrics)) seen.add(name);
    return [...seen].sort();
  }, [reports.data]);
  const wanted = query.get('metric');
  const name = wanted && names.includes(wanted) ? wanted : names[0];
  const set = (changes: Record<string, string>) => navigate(withQuery(path, query, { tab: 'metrics', ...changes }), { replace: true });

  const chart = useMemo(() => {
    if (!trials || !reports.data || !name) return undefined;
    const steps = new Set<number>();
    for (const list of reports.data.values()) for (const r of list) if (plottable(r.metrics[name]) !== null) steps.add(r.stepsCompleted);
    const xs = [...steps].sort((a, b) => a - b);
    const at = new Map(xs.map((x, i) => [x, i]));
    let points = 0;
    const series: ChartSeries[] = [];
    const columns: Array<Array<number | null>> = [];
    trials.forEach((t, i) => {
      const column: Array<number | null> = xs.map(() => null);
      for (const r of reports.data!.get(t.id) ?? []) {
        const value = plottable(r.metrics[name]);
        if (value === null) continue;
        if (column[at.get(r.stepsCompleted)!] === null) points++;
        column[at.get(r.stepsCompleted)!] = value;
      }
      series.push({ label: `trial ${t.number}`, color: seriesColor(i) });
      columns.push(column);
    });
    return { data: [xs, ...columns] as uPlot.AlignedData, series, points };
  }, [trials, reports.data, name]);

  if (!trials) return <p className="page-status">Loading…</p>;
  return (
    <section className="stack">
      <div className="filters">
        <label>
          Metric
          <select value={name ?? ''} onChange={(e) => set({ metric: e.target.value })} disabled={names.length === 0}>
            {names.length === 0 && <option value="">none reported</option>}
            {names.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <label>
          Group
          <select value={group} onChange={(e) => set({ group: e.target.value })}>
            <option value="training">training</option>
            <option value="validation">validation</option>
          </select>
        </label>
      </div>
      <Alert message={reports.error} />
      <div data-testid="metric-chart" data-points={chart?.points ?? 0} className="card">
        {chart && chart.points > 0 ? (
          <MetricChart data={chart.data} series={chart.series} xLabel="steps" yLabel={name!} style="lines" height={320} />
        ) : (
          <p className="empty">{reports.loading ? 'Loading…' : `No ${group} metrics reported yet.`}</p>
        )}
      </div>
      {trials.length > 1 && <HyperparameterView trials={trials} />}
    </section>
  );
}

/** For each numeric hyperparameter: best validation of each trial against its value. */
function HyperparameterView({ trials }: { trials: Trial[] }) {
  const plots = useMemo(() => {
    const scored = trials.filter((t) => typeof t.bestValidation === 'number' && Number.isFinite(t.bestValidation));
    const names = new Set<string>();
    for (const t of trials) for (const [k, v] of Object.entries(t.hparams)) if (typeof v === 'number') names.add(k);
    return [...names]
      .filter((n) => scored.every((t) => typeof t.hparams[n] === 'number'))
      .map((n) => {
        const pairs = scored.map((t) => [t.hparams[n] as number, t.bestValidation as number] as const).sort((a, b) => a[0] - b[0]);
        return { name: n, data: [pairs.map((p) => p[0]), pairs.map((p) => p[1])] as uPlot.AlignedData };
      });
  }, [trials]);
  const series = useMemo<ChartSeries[]>(() => [{ label: 'best validation', color: seriesColor(0) }], []);
  if (plots.length === 0) return null;
  return (
    <section>
      <h2>Hyperparameters</h2>
      <div className="scatter-grid">
        {plots.map((p) => (
          <figure key={p.name} className="card" aria-label={`best validation against ${p.name}`}>
            <MetricChart data={p.data} series={series} xLabel={p.name} yLabel="best validation" style="points" height={200} />
          </figure>
        ))}
      </div>
    </section>
  );
}
