/** The live feed: dashboard events kept flowing across dropped connections, and fetches coalesced. */
import { useEffect, useRef, useState } from 'react';
import type { DashboardEvent } from '@periscope/sdk';
import { dashboard, handledUnauthorized, isAbort } from './api';

const RECONNECT_MS = 1000;

/**
 * Calls `onEvent` for each event (of one experiment, when given). When the connection drops it reconnects
 * after a second; `onResync` runs once each connection is ready after the first, since events sent while it
 * was down are lost: the page refetches what it shows.
 */
export function useDashboardEvents(experiment: string | undefined, onEvent: (event: DashboardEvent) => void, onResync: () => void): void {
  const handlers = useRef({ onEvent, onResync });
  handlers.current = { onEvent, onResync };
  useEffect(() => {
    const abort = new AbortController();
    const signal = abort.signal;
    void (async () => {
      for (let first = true; !signal.aborted; first = false) {
        try {
          for await (const event of dashboard().events({ ...(experiment !== undefined && { experiment }), signal })) {
            if (event.type !== 'ready') handlers.current.onEvent(event);
            else if (!first) handlers.current.onResync();
          }
        } catch (error) {
          if (signal.aborted || isAbort(error)) return;
          if (handledUnauthorized(error)) return;
        }
        await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
      }
    })();
    return () => abort.abort();
  }, [experiment]);
}

/** `run` at most once at a time; calls meanwhile fold into one more run after it. */
export function coalesce(run: () => Promise<void>): () => void {
  let running = false;
  let queued = false;
  const go = (): void => {
    if (running) {
      queued = true;
      return;
    }
    running = true;
    void run()
      .catch(() => {})
      .finally(() => {
        running = false;
        if (queued) {
          queued = false;
          go();
        }
      });
  };
  return go;
}

/** A stable `coalesce` of the latest `run` (which may change each render). */
export function useCoalesced(run: () => Promise<void>): () => void {
  const latest = useRef(run);
  latest.current = run;
  const [go] = useState(() => coalesce(() => latest.current()));
  return go;
}
