/** The frame around every signed-in page: the left navigation (from routes.ts) and the user's menu. */
import type { ComponentChildren, JSX } from 'preact';
import { consoleCall, session } from './api.js';
import { NAV } from './routes.js';
import { Link } from './ui.js';

export function Layout(p: { path: string; children: ComponentChildren }): JSX.Element {
  const s = session();
  const current = (href: string) => (href === '/' ? p.path === '/' : p.path === href || p.path.startsWith(`${href}/`));
  return (
    <div class="shell">
      <nav class="side" aria-label="Main">
        <Link href="/" class="brand">
          <img src="/assets/favicon.svg" alt="" width="26" height="26" />
          <span>Berth</span>
        </Link>
        <ul>
          {NAV.map((n) => (
            <li key={n.href}>
              <Link href={n.href} class={current(n.href) ? 'active' : undefined}>
                <span class="icon" aria-hidden="true">
                  {n.icon}
                </span>
                {n.label}
              </Link>
            </li>
          ))}
        </ul>
        <div class="who">
          <span class="user" title="Signed in as">
            {s.user}
          </span>
          <button
            type="button"
            class="link"
            onClick={() => {
              consoleCall('POST', '/console/logout')
                .catch(() => {})
                .finally(() => location.assign('/login'));
            }}
          >
            Sign out
          </button>
        </div>
      </nav>
      <main class="content">{p.children}</main>
    </div>
  );
}
