/** The logs of one trial: which lines (trial, executor, stream, rank, level) is in the URL; search is local. */
import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from 'react';
import type { LogFilter, Trial } from '@periscope/sdk';
import { Alert } from '../../components/alert';
import { LogSession, type LogSessionState, type LogStart } from '../../logs/log-session';
import { LEVELS, LogView } from '../../logs/log-view';
import { navigate, useLocation, withQuery } from '../../router';
import { trialFinished } from '../../trials';

export function LogsTab({ trials }: { trials: Trial[] | undefined }) {
  const { path, query } = useLocation();
  if (!trials) return <p className="page-status">Loading…</p>;
  if (trials.length === 0) return <p className="empty">No trials yet: logs appear once one starts.</p>;
  const trial = trials.find((t) => String(t.id) === query.get('trial')) ?? trials[0]!;
  const executor = query.get('executor') ?? '';
  const stream = query.get('stream') === 'stdout' || query.get('stream') === 'stderr' ? (query.get('stream') as 'stdout' | 'stderr') : undefined;
  const rankText = query.get('rank') ?? '';
  const rank = /^\d+$/.test(rankText) ? Number(rankText) : undefined;
  const level = query.get('level') ?? '';
  const set = (changes: Record<string, string | undefined>) => navigate(withQuery(path, query, { tab: 'logs', ...changes }), { replace: true });
  const ranks = [...new Set(trial.executors.map((e) => e.rank))].sort((a, b) => a - b);
  const filter: LogFilter = { ...(executor && { executor }), ...(stream && { stream }), ...(rank !== undefined && { rank }) };

  return (
    <section className="stack">
      <div className="filters">
        <label>
          Trial
          <select value={trial.id} onChange={(e) => set({ trial: e.target.value, executor: undefined, rank: undefined })}>
            {trials.map((t) => (
              <option key={t.id} value={t.id}>
                #{t.number} ({t.state})
              </option>
            ))}
          </select>
        </label>
        <label>
          Executor
          <select value={executor} onChange={(e) => set({ executor: e.target.value })}>
            <option value="">All</option>
            {trial.executors.map((e) => (
              <option key={e.name} value={e.name}>
                {e.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Stream
          <select value={stream ?? ''} onChange={(e) => set({ stream: e.target.value })}>
            <option value="">All</option>
            <option value="stdout">stdout</option>
            <option value="stderr">stderr</option>
          </select>
        </label>
        <label>
          Rank
          <select value={rankText} onChange={(e) => set({ rank: e.target.value })}>
            <option value="">All</option>
            {ranks.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        <label>
          Level
          <select value={level} onChange={(e) => set({ level: e.target.value })}>
            <option value="">All</option>
            {LEVELS.map((l) => (
              <option key={l} value={l}>
                {l} and above
              </option>
            ))}
          </select>
        </label>
      </div>
      <LogPane key={`${trial.id}|${executor}|${stream ?? ''}|${rankText}`} trialId={trial.id} filter={filter} finished={trialFinished(trial)} level={level} />
    </section>
  );
}

const IDLE: LogSessionState = { version: 0, loading: true, error: undefined, following: false, hasMore: false, start: 'head' };
const NO_SUBSCRIPTION = () => () => {};

function LogPane({ trialId, filter, finished, level }: { trialId: number; filter: LogFilter; finished: boolean; level: string }) {
  const [follow, setFollow] = useState(!finished);
  const [search, setSearch] = useState('');
  const [session, setSession] = useState<LogSession>();
  const [anchor, setAnchor] = useState<{ to: 'top' | 'bottom'; key: number }>({ to: finished ? 'top' : 'bottom', key: 0 });
  const current = useRef<LogSession | undefined>(undefined);
  const state = useSyncExternalStore(session?.subscribe ?? NO_SUBSCRIPTION, session?.getState ?? (() => IDLE));

  const begin = useCallback(
    (start: LogStart, followOn: boolean) => {
      current.current?.close();
      const next = new LogSession(trialId, filter);
      current.current = next;
      setSession(next);
      setAnchor((a) => ({ to: start === 'tail' ? 'bottom' : 'top', key: a.key + 1 }));
      void next.open(start, followOn);
    },
    // The pane is keyed by trial and filter: they are fixed for its life.
    [],
  );

  useEffect(() => {
    begin(finished ? 'head' : 'tail', !finished);
    return () => current.current?.close();
  }, [begin]);

  // The stream ends by itself when the trial has ended: nothing is left to follow.
  const wasFollowing = useRef(false);
  useEffect(() => {
    if (wasFollowing.current && !state.following && !state.error) setFollow(false);
    wasFollowing.current = state.following;
  }, [state.following, state.error]);

  const toggleFollow = (on: boolean) => {
    setFollow(on);
    if (!session) return;
    // Following from the middle of a long log would stream all of the rest: go to its end first.
    if (on && state.hasMore) begin('tail', true);
    else session.setFollow(on);
  };
  const onNearBottom = useCallback(() => void current.current?.loadMore(), []);

  return (
    <>
      <div className="filters">
        <label>
          Search logs
          <input type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder="text in the loaded lines" />
        </label>
        <label className="check">
          <input type="checkbox" checked={follow} onChange={(e) => toggleFollow(e.target.checked)} />
          Follow
        </label>
        <button type="button" onClick={() => begin('tail', follow && !finished)}>
          Jump to end
        </button>
        <button
          type="button"
          onClick={() => {
            setFollow(false);
            begin('head', false);
          }}
        >
          Jump to start
        </button>
        <span className="muted log-status" aria-live="polite">
          {state.loading ? 'Loading…' : `${plural(session?.buffer.lines.length ?? 0, 'line')} loaded${state.following ? ', following' : state.hasMore ? ', more below' : ''}`}
        </span>
      </div>
      <Alert message={state.error} />
      {session && (
        <LogView
          lines={session.buffer.lines}
          version={state.version}
          dropped={session.buffer.dropped}
          minLevel={level}
          search={search}
          follow={follow}
          anchor={anchor}
          onNearBottom={onNearBottom}
        />
      )}
    </>
  );
}

function plural(n: number, noun: string): string {
  return `${n.toLocaleString()} ${noun}${n === 1 ? '' : 's'}`;
}
