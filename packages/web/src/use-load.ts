/** Loading server data into a component: the latest request wins, errors become words, a 401 goes to login. */
import { useCallback, useEffect, useRef, useState, type DependencyList } from 'react';
import { errorMessage, handledUnauthorized, isAbort } from './api';

export interface Loaded<T> {
  data: T | undefined;
  error: string | undefined;
  loading: boolean;
  /** Fetches again, keeping the data shown until the answer arrives. */
  reload: () => Promise<void>;
  /** Replaces the data locally (a live patch, or an action's answer). */
  set: (update: (data: T | undefined) => T | undefined) => void;
}

export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: DependencyList): Loaded<T> {
  const [state, setState] = useState<{ data: T | undefined; error: string | undefined; loading: boolean }>({ data: undefined, error: undefined, loading: true });
  const current = useRef<AbortController | undefined>(undefined);
  // The caller names what the load depends on, as with useEffect.
  const run = useCallback(load, deps);

  const reload = useCallback(async () => {
    current.current?.abort();
    const abort = new AbortController();
    current.current = abort;
    setState((s) => ({ ...s, loading: true }));
    try {
      const data = await run(abort.signal);
      if (!abort.signal.aborted) setState({ data, error: undefined, loading: false });
    } catch (error) {
      if (abort.signal.aborted || isAbort(error) || handledUnauthorized(error)) return;
      setState((s) => ({ ...s, error: errorMessage(error), loading: false }));
    }
  }, [run]);

  useEffect(() => {
    setState({ data: undefined, error: undefined, loading: true });
    void reload();
    return () => current.current?.abort();
  }, [reload]);

  const set = useCallback((update: (data: T | undefined) => T | undefined) => setState((s) => ({ ...s, data: update(s.data) })), []);
  return { ...state, reload, set };
}

/** An action's error as words for an alert; undefined after a 401 (the user is on the way to the login page). */
export function actionError(error: unknown): string | undefined {
  if (handledUnauthorized(error)) return undefined;
  return errorMessage(error);
}

/** A value that settles `ms` after it stops changing (typed filters, so each key press is not a request). */
export function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

/** Re-renders every `ms`, so relative times ("3m ago") stay true. */
export function useNow(ms: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}
