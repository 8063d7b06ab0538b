/** One experiment: header with its live status and actions, and its tabs (the tab is in the URL). */
import { lazy, Suspense, useRef, useState } from 'react';
import type { Experiment, ExperimentSummary } from '@periscope/sdk';
import { FINISHED_STATUSES, periscope } from '../api';
import { Alert } from '../components/alert';
import { StatusBadge } from '../components/status-badge';
import { useCoalesced, useDashboardEvents } from '../live';
import { Link, navigate, useLocation, withQuery } from '../router';
import { actionError, useLoad } from '../use-load';
import { OverviewTab } from './experiment/overview-tab';
import { TrialsTab } from './experiment/trials-tab';
import { LogsTab } from './experiment/logs-tab';
import { CheckpointsTab } from './experiment/checkpoints-tab';

// uPlot and the YAML printer load with the tabs that draw them.
const SpecTab = lazy(() => import('./experiment/spec-tab').then((m) => ({ default: m.SpecTab })));
const MetricsTab = lazy(() => import('./experiment/metrics-tab').then((m) => ({ default: m.MetricsTab })));

const TABS = ['overview', 'spec', 'trials', 'logs', 'metrics', 'checkpoints'] as const;
type Tab = (typeof TABS)[number];
const TAB_LABELS: Record<Tab, string> = { overview: 'Overview', spec: 'Spec', trials: 'Trials', logs: 'Logs', metrics: 'Metrics', checkpoints: 'Checkpoints' };

export function ExperimentPage({ id }: { id: string }) {
  const { path, query } = useLocation();
  const tabParam = query.get('tab');
  const tab: Tab = TABS.includes(tabParam as Tab) ? (tabParam as Tab) : 'overview';

  const experiment = useLoad((signal) => periscope().experiments.get(id, { signal }), [id]);
  const trials = useLoad((signal) => periscope().experiments.trials(id, { signal }), [id]);
  const [summary, setSummary] = useState<ExperimentSummary>();
  const [deleted, setDeleted] = useState(false);
  // Bumped by the feed, so the metrics and checkpoints tabs refetch only when theirs changed.
  const [metricsVersion, setMetricsVersion] = useState(0);
  const [checkpointsVersion, setCheckpointsVersion] = useState(0);

  const refetchTrials = useCoalesced(trials.reload);
  const refetchExperiment = useCoalesced(experiment.reload);
  useDashboardEvents(
    id,
    (event) => {
      if (event.type === 'experiment' && event.experiment.experimentId === id) {
        const s = event.experiment;
        setSummary(s);
        experiment.set((e) => e && { ...e, status: s.status, acceptedTime: s.acceptedTime, createdTime: s.createdTime, runningTime: s.runningTime, finishedTime: s.finishedTime });
      } else if (event.type === 'deleted' && event.experimentId === id) {
        setDeleted(true);
        experiment.set((e) => e && { ...e, status: 'Deleted' });
      } else if (event.type === 'trial' && event.experimentId === id) {
        refetchTrials();
        if (event.what === 'metrics') setMetricsVersion((v) => v + 1);
        if (event.what === 'checkpoint') setCheckpointsVersion((v) => v + 1);
      }
    },
    () => {
      refetchExperiment();
      refetchTrials();
    },
  );

  if (!experiment.data) {
    return experiment.error ? (
      <section>
        <h1>Experiment {id}</h1>
        <Alert message={experiment.error} />
        <Link to="/">Back to experiments</Link>
      </section>
    ) : (
      <p className="page-status">Loading…</p>
    );
  }
  const e = experiment.data;
  return (
    <section>
      <Header experiment={e} deleted={deleted} onChange={(next) => experiment.set(() => next)} />
      <nav className="tabs" aria-label="Experiment sections">
        {TABS.map((t) => (
          <Link key={t} to={withQuery(path, new URLSearchParams(), { tab: t === 'overview' ? null : t })} aria-current={t === tab ? 'page' : undefined}>
            {TAB_LABELS[t]}
          </Link>
        ))}
      </nav>
      <Alert message={trials.error} />
      <Suspense fallback={<p className="page-status">Loading…</p>}>
        {tab === 'overview' && <OverviewTab experiment={e} summary={summary} trials={trials.data} />}
        {tab === 'spec' && <SpecTab spec={e.spec} />}
        {tab === 'trials' && <TrialsTab trials={trials.data} />}
        {tab === 'logs' && <LogsTab trials={trials.data} />}
        {tab === 'metrics' && <MetricsTab trials={trials.data} version={metricsVersion} />}
        {tab === 'checkpoints' && <CheckpointsTab trials={trials.data} version={checkpointsVersion} />}
      </Suspense>
    </section>
  );
}

function Header({ experiment, deleted, onChange }: { experiment: Experiment; deleted: boolean; onChange: (e: Experiment) => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ of: 'cancel' | 'delete'; message: string | undefined }>();
  const finished = FINISHED_STATUSES.includes(experiment.status);

  const act = async (of: 'cancel' | 'delete', action: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    try {
      await action();
    } catch (e) {
      setError({ of, message: actionError(e) });
    } finally {
      setBusy(false);
    }
  };
  const cancel = () => act('cancel', async () => onChange(await periscope().experiments.cancel(experiment.experimentId)));
  const remove = () =>
    act('delete', async () => {
      await periscope().experiments.delete(experiment.experimentId);
      dialog.current?.close();
      navigate('/');
    });

  return (
    <div className="page-head">
      <div>
        <div className="row">
          <h1>{experiment.spec.meta.name}</h1>
          <StatusBadge status={experiment.status} testId="experiment-status" />
        </div>
        <p className="muted mono id-line">{experiment.experimentId}</p>
      </div>
      <span className="spacer" />
      {!finished && (
        <button type="button" onClick={() => void cancel()} disabled={busy}>
          Cancel
        </button>
      )}
      {!deleted && (
        <button type="button" className="danger" onClick={() => dialog.current?.showModal()} disabled={busy}>
          Delete
        </button>
      )}
      <dialog ref={dialog} aria-labelledby="delete-title" onClose={() => setError(undefined)}>
        <form method="dialog" className="stack" onSubmit={(e) => e.preventDefault()}>
          <h2 id="delete-title">Delete {experiment.spec.meta.name}?</h2>
          <p>Its logs go with it{finished ? '' : ', and its running executors are stopped'}. This cannot be undone.</p>
          <Alert message={error?.of === 'delete' ? error.message : undefined} />
          <div className="row">
            <button type="button" onClick={() => dialog.current?.close()}>
              Keep it
            </button>
            <button type="button" className="danger" onClick={() => void remove()} disabled={busy}>
              Delete experiment
            </button>
          </div>
        </form>
      </dialog>
      <Alert message={error?.of === 'cancel' ? error.message : undefined} />
    </div>
  );
}
