import { Fragment } from 'react';
import { StatusBadge } from '../../components/status-badge';
import { compact, metric } from '../../format';
import type { Trial } from '@periscope/sdk';
import { endCause, hyperparameterNames, trialPending } from '../../trials';

export function TrialsTab({ trials }: { trials: Trial[] | undefined }) {
  if (!trials) return <p className="page-status">Loading…</p>;
  if (trials.length === 0) return <p className="empty">No trials yet.</p>;
  const hparams = hyperparameterNames(trials);
  const columns = 6 + hparams.length;
  return (
    <div className="table-wrap">
      <table aria-label="Trials" className="grid trials">
        <thead>
          <tr>
            <th scope="col" className="num">Trial</th>
            <th scope="col">State</th>
            <th scope="col" className="num">Restarts</th>
            {hparams.map((h) => (
              <th scope="col" key={h} className="num">
                {h}
              </th>
            ))}
            <th scope="col" className="num">Best validation</th>
            <th scope="col" className="num">Steps</th>
            <th scope="col">Message</th>
          </tr>
        </thead>
        <tbody>
          {trials.map((t) => (
            <Fragment key={t.id}>
              <tr className="trial-row">
                <td className="num" title={`trial id ${t.id}`}>
                  {t.number}
                </td>
                <td>
                  <StatusBadge status={t.state} />
                </td>
                <td className="num">{t.restarts}</td>
                {hparams.map((h) => (
                  <td key={h} className="num">
                    {compact(t.hparams[h])}
                  </td>
                ))}
                <td className="num">{metric(t.bestValidation)}</td>
                <td className="num">{t.stepsCompleted ?? '—'}</td>
                <td className="message">
                  {trialPending(t) && t.message ? (
                    <span data-testid="pending-reason" className="pending">
                      {t.message}
                    </span>
                  ) : (
                    (t.message ?? '')
                  )}
                </td>
              </tr>
              <tr className="executors-row">
                <td colSpan={columns}>
                  <ExecutorsTable trial={t} />
                </td>
              </tr>
            </Fragment>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function ExecutorsTable({ trial }: { trial: Trial }) {
  if (trial.executors.length === 0) return <p className="muted">No executors yet.</p>;
  return (
    <table aria-label="Executors" className="grid executors">
      <thead>
        <tr>
          <th scope="col">Executor</th>
          <th scope="col">Role</th>
          <th scope="col" className="num">Rank</th>
          <th scope="col">Node</th>
          <th scope="col" className="num">GPUs</th>
          <th scope="col" className="num">PID / job</th>
          <th scope="col">State</th>
          <th scope="col" className="num">Exit code</th>
          <th scope="col">Cause</th>
        </tr>
      </thead>
      <tbody>
        {trial.executors.map((e) => (
          <tr key={e.name}>
            <td className="mono ellipsis" title={e.name}>
              {e.name}
            </td>
            <td>{e.role}</td>
            <td className="num">{e.rank}</td>
            <td>{e.node ?? '—'}</td>
            <td className="num">{e.gpus.length ? e.gpus.join(',') : '—'}</td>
            <td className="num mono">{e.handle ?? (e.pid !== null ? String(e.pid) : '—')}</td>
            <td>
              <StatusBadge status={e.state} />
            </td>
            <td className="num">{e.exitCode ?? '—'}</td>
            <td>{e.state === 'Pending' || e.state === 'Running' ? '—' : endCause(e)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
