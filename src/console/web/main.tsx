/**
 * The console's entry: find out whether we are signed in, then render the
 * sign-in or setup page, or the page the path names inside the layout.
 */
import { render, type JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import '@xterm/xterm/css/xterm.css';
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { consoleCall, setSession } from './api.js';
import { Layout } from './layout.js';
import { SignInPage } from './pages/signin.js';
import { match, useLocation } from './router.js';
import { ROUTES } from './routes.js';
import { Empty, PageHeader } from './ui.js';

function App(): JSX.Element | null {
  const path = useLocation();
  const [ready, setReady] = useState<'loading' | 'in' | 'out'>('loading');
  useEffect(() => {
    if (path === '/login' || path === '/setup') return setReady('out');
    consoleCall<{ user: string; csrf: string }>('GET', '/console/session').then(
      (s) => {
        setSession(s);
        setReady('in');
      },
      () => location.assign(`/login?next=${encodeURIComponent(path)}`),
    );
  }, [path === '/login' || path === '/setup']);
  if (path === '/login' || path === '/setup') return <SignInPage setup={path === '/setup'} />;
  if (ready !== 'in') return null;
  const hit = match(
    ROUTES.map((r) => r.path),
    path,
  );
  const route = hit && ROUTES.find((r) => r.path === hit.pattern);
  return (
    <Layout path={path}>
      {route ? (
        <route.page params={hit.params} key={path} />
      ) : (
        <>
          <PageHeader title="Not found" />
          <Empty>There is no page at {path}.</Empty>
        </>
      )}
    </Layout>
  );
}

render(<App />, document.getElementById('app')!);
