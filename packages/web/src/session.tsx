/** Who is using the dashboard: the user `whoami` answers, and whether the server asks for a login at all. */
import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from 'react';
import type { User } from '@periscope/sdk';
import { csrfToken, dashboard, errorMessage, isUnauthorized, onUnauthorized, periscope, resetClient } from './api';
import { currentUrl, navigate } from './router';

export interface Session {
  user: User;
  /**
   * The server runs `--auth none`: it answered without a session cookie (a cookie login always sets the CSRF
   * cookie beside it), so there is nothing to log out of.
   */
  authNone: boolean;
  logout: () => Promise<void>;
}

type State = { kind: 'checking' } | { kind: 'anonymous' } | { kind: 'failed'; message: string } | { kind: 'signed-in'; user: User; authNone: boolean };

const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession: outside a signed-in page');
  return session;
}

export function loginUrl(): string {
  const here = currentUrl();
  return here.startsWith('/login') ? here : `/login?next=${encodeURIComponent(here)}`;
}

/** Renders `children` once signed in, `login` when not (under `--auth none`, never the login page). */
export function SessionGate({ children, login }: { children: ReactNode; login: (signedIn: (user: User) => void) => ReactNode }) {
  const [state, setState] = useState<State>({ kind: 'checking' });

  const check = useCallback(async () => {
    try {
      const user = await periscope().whoami();
      setState({ kind: 'signed-in', user, authNone: csrfToken() === undefined });
    } catch (error) {
      if (isUnauthorized(error)) {
        setState({ kind: 'anonymous' });
        navigate(loginUrl(), { replace: true });
      } else {
        setState({ kind: 'failed', message: errorMessage(error) });
      }
    }
  }, []);

  useEffect(() => {
    onUnauthorized(() => {
      resetClient();
      setState({ kind: 'anonymous' });
      navigate(loginUrl());
    });
    void check();
  }, [check]);

  const signedIn = useCallback((user: User) => {
    resetClient();
    setState({ kind: 'signed-in', user, authNone: false });
    const next = new URLSearchParams(location.search).get('next');
    // Only a path on this site: `next` comes from the URL, which anyone can craft.
    navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/', { replace: true });
  }, []);

  const logout = useCallback(async () => {
    await dashboard().logout().catch(() => {});
    resetClient();
    setState({ kind: 'anonymous' });
    navigate('/login');
  }, []);

  switch (state.kind) {
    case 'checking':
      return <p className="page-status">Loading…</p>;
    case 'failed':
      return (
        <main className="page">
          <p role="alert" className="error">
            {state.message}
          </p>
          <button type="button" onClick={() => void check()}>
            Try again
          </button>
        </main>
      );
    case 'anonymous':
      return <>{login(signedIn)}</>;
    case 'signed-in':
      return <SessionContext.Provider value={{ user: state.user, authNone: state.authNone, logout }}>{children}</SessionContext.Provider>;
  }
}
