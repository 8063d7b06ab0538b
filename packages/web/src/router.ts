/** A history-API router: the URL (path and query) is the state every page reads, so any view is shareable. */
import { createElement, useMemo, useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent, type ReactNode } from 'react';

const listeners = new Set<() => void>();

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  window.addEventListener('popstate', listener);
  return () => {
    listeners.delete(listener);
    window.removeEventListener('popstate', listener);
  };
}

function snapshot(): string {
  return location.pathname + location.search;
}

export function currentUrl(): string {
  return snapshot();
}

export function navigate(to: string, options: { replace?: boolean; state?: unknown } = {}): void {
  if (to === snapshot() && options.state === undefined) return;
  history[options.replace ? 'replaceState' : 'pushState'](options.state ?? null, '', to);
  for (const listener of listeners) listener();
}

export interface Location {
  path: string;
  query: URLSearchParams;
}

export function useLocation(): Location {
  const url = useSyncExternalStore(subscribe, snapshot);
  return useMemo(() => {
    const parsed = new URL(url, location.origin);
    return { path: parsed.pathname, query: parsed.searchParams };
  }, [url]);
}

/** `path?query` with `changes` applied to the current query; empty and undefined values are left out. */
export function withQuery(path: string, query: URLSearchParams, changes: Record<string, string | number | undefined | null>): string {
  const next = new URLSearchParams(query);
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined || value === null || value === '') next.delete(key);
    else next.set(key, String(value));
  }
  const text = next.toString();
  return text ? `${path}?${text}` : path;
}

type LinkProps = AnchorHTMLAttributes<HTMLAnchorElement> & { to: string; children?: ReactNode };

/** A real link (open in a new tab works); a plain click navigates without a page load. */
export function Link({ to, onClick, ...rest }: LinkProps) {
  const click = (event: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(event);
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(to);
  };
  return createElement('a', { ...rest, href: to, onClick: click });
}
