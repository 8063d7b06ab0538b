/** The shell (header, navigation, theme) and which page a path shows. */
import { lazy, Suspense, useEffect, useState, type ReactNode } from 'react';
import { Link, navigate, useLocation } from './router';
import { SessionGate, useSession } from './session';
import { currentTheme, toggleTheme } from './theme';
import { LoginPage } from './pages/login';
import { ExperimentsPage } from './pages/experiments';
import { ExperimentPage } from './pages/experiment';
import { ModelsPage } from './pages/models';
import { ModelPage } from './pages/model';
import { NodesPage } from './pages/nodes';
import { EnvironmentsPage } from './pages/environments';
import { UsersPage } from './pages/users';

// Create loads the YAML parser and core's Determined converter: only those who create pay for them.
const CreatePage = lazy(() => import('./pages/create').then((m) => ({ default: m.CreatePage })));

export function App() {
  const { path } = useLocation();
  return (
    <SessionGate login={(signedIn) => <LoginPage onSignedIn={signedIn} />}>
      {path === '/login' ? <LeaveLogin /> : <Shell />}
    </SessionGate>
  );
}

/** Signed in already (or `--auth none`): the login page is never shown, `next` is. */
function LeaveLogin() {
  useEffect(() => {
    const next = new URLSearchParams(location.search).get('next');
    navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/', { replace: true });
  }, []);
  return null;
}

function Shell() {
  const { path } = useLocation();
  const { user, authNone, logout } = useSession();
  const [theme, setTheme] = useState(currentTheme);
  const section = '/' + (path.split('/')[1] ?? '');
  const nav: Array<[string, string]> = [
    ['/experiments', 'Experiments'],
    ['/create', 'Create'],
    ['/models', 'Models'],
    ['/nodes', 'Nodes'],
    ['/environments', 'Environments'],
    ...(user.admin ? ([['/users', 'Users']] as Array<[string, string]>) : []),
  ];
  return (
    <>
      <header className="shell">
        <Link to="/" className="brand">
          Periscope
        </Link>
        <nav aria-label="Main">
          {nav.map(([to, label]) => (
            <Link key={to} to={to} aria-current={section === to || (to === '/experiments' && section === '/') ? 'page' : undefined}>
              {label}
            </Link>
          ))}
        </nav>
        <span className="spacer" />
        <span className="who" title={user.admin ? 'admin' : 'user'}>
          {user.username}
        </span>
        <button type="button" onClick={() => setTheme(toggleTheme())} aria-label="Toggle theme" title={`Theme: ${theme}`}>
          {theme === 'dark' ? '☾' : '☀'}
        </button>
        {!authNone && (
          <button type="button" onClick={() => void logout()}>
            Log out
          </button>
        )}
      </header>
      <main className="page">
        <Suspense fallback={<p className="page-status">Loading…</p>}>{route(path, user.admin)}</Suspense>
      </main>
    </>
  );
}

function route(path: string, admin: boolean): ReactNode {
  if (path === '/' || path === '/experiments') return <ExperimentsPage />;
  if (path === '/create') return <CreatePage />;
  if (path === '/models') return <ModelsPage />;
  if (path === '/nodes') return <NodesPage />;
  if (path === '/environments') return <EnvironmentsPage />;
  if (path === '/users' && admin) return <UsersPage />;
  const experiment = /^\/experiments\/([^/]+)$/.exec(path);
  if (experiment) return <ExperimentPage key={experiment[1]} id={decodeURIComponent(experiment[1]!)} />;
  const model = /^\/models\/([^/]+)$/.exec(path);
  if (model) return <ModelPage key={model[1]} name={decodeURIComponent(model[1]!)} />;
  return (
    <section>
      <h1>Not found</h1>
      <p>
        Nothing here. <Link to="/">Back to experiments</Link>
      </p>
    </section>
  );
}
