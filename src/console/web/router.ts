/**
 * The console's client-side routing: the page table lives in routes.ts
 * (one line per page); this matches a path against it (`/containers/:id`
 * patterns) and moves between pages with the History API.
 */
import { useEffect, useState } from 'preact/hooks';

export interface Match {
  pattern: string;
  params: Record<string, string>;
}

export function match(patterns: string[], path: string): Match | undefined {
  const parts = path.replace(/\/+$/, '').split('/').slice(1);
  for (const pattern of patterns) {
    const want = pattern.replace(/\/+$/, '').split('/').slice(1);
    if (want.length !== parts.length) continue;
    const params: Record<string, string> = {};
    const ok = want.every((w, i) => {
      if (!w.startsWith(':')) return w === parts[i];
      params[w.slice(1)] = decodeURIComponent(parts[i]!);
      return true;
    });
    if (ok) return { pattern, params };
  }
  return undefined;
}

const listeners = new Set<() => void>();
window.addEventListener('popstate', () => {
  for (const l of listeners) l();
});

export function navigate(to: string, replace = false): void {
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  window.scrollTo(0, 0);
  for (const l of listeners) l();
}

/** The current path, re-rendering on navigation. */
export function useLocation(): string {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const l = () => setPath(location.pathname);
    listeners.add(l);
    return () => void listeners.delete(l);
  }, []);
  return path;
}
