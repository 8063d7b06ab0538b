import type { ReactNode } from 'react';
import type { Experiment, ExperimentSummary, Trial } from '@periscope/sdk';
import { Ago } from '../../components/time';
import { dateTime, metric } from '../../format';
import { useNow } from '../../use-load';

export function OverviewTab({ experiment, summary, trials }: { experiment: Experiment; summary: ExperimentSummary | undefined; trials: Trial[] | undefined }) {
  const now = useNow(15_000);
  const { meta, searcher } = experiment.spec;
  const best = summary?.bestMetric;
  const rows: Array<[string, ReactNode]> = [
    ['Experiment ID', <span className="mono">{experiment.experimentId}</span>],
    ['Framework', meta.framework],
    ['Command', meta.cmd ? <code>{meta.cmd}</code> : '—'],
    ['Tags', meta.tags.length ? meta.tags.join(', ') : '—'],
    ...(summary?.owner ? ([['Owner', summary.owner]] as Array<[string, ReactNode]>) : []),
    ['Searcher', searcher ? `${searcher.name}${searcher.metric ? ` on ${searcher.metric} (${searcher.smallerIsBetter === false ? 'larger' : 'smaller'} is better)` : ''}` : 'single run'],
    ['Trials', trials ? String(trials.length) : '…'],
    ...(best ? ([['Best metric', `${best.name}=${metric(best.value)}`]] as Array<[string, ReactNode]>) : []),
    ...(summary?.message ? ([['Message', summary.message]] as Array<[string, ReactNode]>) : []),
    ['Accepted', <TimeCell iso={experiment.acceptedTime} now={now} />],
    ['Created', <TimeCell iso={experiment.createdTime} now={now} />],
    ['Running', <TimeCell iso={experiment.runningTime} now={now} />],
    ['Finished', <TimeCell iso={experiment.finishedTime} now={now} />],
  ];
  return (
    <dl className="facts">
      {rows.map(([term, value]) => (
        <div key={term}>
          <dt>{term}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

function TimeCell({ iso, now }: { iso: string | null; now: number }) {
  if (!iso) return <span className="muted">—</span>;
  return (
    <>
      {dateTime(iso)} <span className="muted">(<Ago iso={iso} now={now} />)</span>
    </>
  );
}
