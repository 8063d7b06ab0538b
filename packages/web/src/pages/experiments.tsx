/** The experiments list: filtered and paged by the URL, patched live from the event feed. */
import { useEffect, useState } from 'react';
import type { DashboardEvent, ExperimentSummary } from '@periscope/sdk';
import { dashboard, SUBMARINE_STATUSES } from '../api';
import { Alert } from '../components/alert';
import { StatusBadge } from '../components/status-badge';
import { Ago } from '../components/time';
import { metric } from '../format';
import { useCoalesced, useDashboardEvents } from '../live';
import { Link, navigate, useLocation, withQuery } from '../router';
import { useDebounced, useLoad, useNow } from '../use-load';

const PAGE_SIZE = 50;

interface Page {
  items: ExperimentSummary[];
  nextCursor: string | null;
}

/** The cursors of the newer pages, kept in the history entry so "Newer" walks back the way "Older" came. */
function cursorStack(): string[] {
  const state = history.state as { cursors?: unknown } | null;
  return Array.isArray(state?.cursors) ? state.cursors.filter((c): c is string => typeof c === 'string') : [];
}

function matches(summary: ExperimentSummary, status: string, name: string, owner: string): boolean {
  return (!status || summary.status === status) && (!name || summary.name.toLowerCase().includes(name.toLowerCase())) && (!owner || summary.owner === owner);
}

export function ExperimentsPage() {
  const { path, query } = useLocation();
  const status = query.get('status') ?? '';
  const name = query.get('name') ?? '';
  const owner = query.get('owner') ?? '';
  const before = query.get('before') ?? '';
  const now = useNow(15_000);

  // Typed filters reach the URL (and the server) 250 ms after the last key press.
  const [nameInput, setNameInput] = useState(name);
  const [ownerInput, setOwnerInput] = useState(owner);
  const typedName = useDebounced(nameInput, 250);
  const typedOwner = useDebounced(ownerInput, 250);
  useEffect(() => {
    if (typedName !== name || typedOwner !== owner) navigate(withQuery(path, query, { name: typedName, owner: typedOwner, before: null }), { replace: true });
    // Only typing moves the URL here; a URL change (back button) moves the inputs below.
  }, [typedName, typedOwner]);
  useEffect(() => setNameInput(name), [name]);
  useEffect(() => setOwnerInput(owner), [owner]);

  const page = useLoad<Page>(
    (signal) =>
      dashboard().summaries({
        limit: PAGE_SIZE,
        signal,
        ...(status && { status }),
        ...(name && { name }),
        ...(owner && { owner }),
        ...(before && { before }),
      }),
    [status, name, owner, before],
  );

  const refetch = useCoalesced(page.reload);
  useDashboardEvents(
    undefined,
    (event: DashboardEvent) => {
      if (event.type === 'deleted') {
        page.set((p) => p && { ...p, items: p.items.filter((s) => s.experimentId !== event.experimentId) });
      } else if (event.type === 'experiment') {
        const summary = event.experiment;
        page.set((p) => {
          if (!p) return p;
          const at = p.items.findIndex((s) => s.experimentId === summary.experimentId);
          if (at >= 0) return { ...p, items: p.items.map((s, i) => (i === at ? summary : s)) };
          // New ones belong on the first page only; older pages keep their rows.
          if (!before && matches(summary, status, name, owner)) return { ...p, items: [summary, ...p.items] };
          return p;
        });
      }
    },
    refetch,
  );

  const older = () => {
    if (!page.data?.nextCursor) return;
    navigate(withQuery(path, query, { before: page.data.nextCursor }), { state: { cursors: [...cursorStack(), before] } });
  };
  const newer = () => {
    const stack = cursorStack();
    const previous = stack.pop() ?? '';
    navigate(withQuery(path, query, { before: previous }), { state: { cursors: stack } });
  };

  return (
    <section>
      <h1>Experiments</h1>
      <form className="filters" onSubmit={(e) => e.preventDefault()} role="search">
        <label>
          Status
          <select value={status} onChange={(e) => navigate(withQuery(path, query, { status: e.target.value, before: null }))}>
            <option value="">All</option>
            {SUBMARINE_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Name
          <input type="search" value={nameInput} onChange={(e) => setNameInput(e.target.value)} />
        </label>
        <label>
          Owner
          <input type="search" value={ownerInput} onChange={(e) => setOwnerInput(e.target.value)} />
        </label>
      </form>
      <Alert message={page.error} />
      <div className="table-wrap">
        <table aria-label="Experiments" className="grid experiments" aria-busy={page.loading}>
          <colgroup>
            <col className="c-name" />
            <col className="c-status" />
            <col className="c-owner" />
            <col className="c-framework" />
            <col className="c-time" />
            <col className="c-time" />
            <col className="c-time" />
            <col className="c-metric" />
          </colgroup>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Status</th>
              <th scope="col">Owner</th>
              <th scope="col">Framework</th>
              <th scope="col">Accepted</th>
              <th scope="col">Running</th>
              <th scope="col">Finished</th>
              <th scope="col">Best metric</th>
            </tr>
          </thead>
          <tbody>
            {page.data?.items.map((s) => (
              <tr key={s.experimentId}>
                <td className="ellipsis">
                  <Link to={`/experiments/${encodeURIComponent(s.experimentId)}`} title={s.experimentId}>
                    {s.name}
                  </Link>
                </td>
                <td>
                  <StatusBadge status={s.status} />
                </td>
                <td className="ellipsis">{s.owner || '—'}</td>
                <td className="ellipsis">{s.framework ?? '—'}</td>
                <td>
                  <Ago iso={s.acceptedTime} now={now} />
                </td>
                <td>
                  <Ago iso={s.runningTime} now={now} />
                </td>
                <td>
                  <Ago iso={s.finishedTime} now={now} />
                </td>
                <td className="ellipsis" title={s.bestMetric ? `${s.bestMetric.smallerIsBetter ? 'smaller' : 'larger'} is better` : undefined}>
                  {s.bestMetric ? `${s.bestMetric.name}=${metric(s.bestMetric.value)}` : '—'}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {page.data && page.data.items.length === 0 && <p className="empty">No experiments{status || name || owner ? ' match these filters' : ' yet'}.</p>}
      </div>
      <div className="pager">
        <button type="button" onClick={newer} disabled={!before}>
          Newer
        </button>
        <button type="button" onClick={older} disabled={!page.data?.nextCursor}>
          Older
        </button>
      </div>
    </section>
  );
}
