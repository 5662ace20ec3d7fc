/** Route table: method + path pattern → handler. Patterns capture into named groups. */
import type { Ctx } from './context.js';
import { decodeSegment } from '../core/target.js';

export type Handler = (ctx: Ctx) => Promise<void>;

interface Route {
  method: string;
  /** The pattern as written, e.g. `/containers/{id}/start`. */
  path: string;
  re: RegExp;
  handler: Handler;
}

export class Router {
  private routes: Route[] = [];
  /** Every route as written (method and pattern), for tools that walk the API, such as the fuzzer. */
  readonly table: Array<{ method: string; path: string }> = [];

  /** `path` uses `{name}` for one segment and `{name*}` for the rest, slashes included. */
  add(method: string, path: string, handler: Handler): this {
    const re = new RegExp('^' + path.replace(/\{(\w+)(\*?)\}/g, (_m, name: string, star: string) => (star ? `(?<${name}>.+)` : `(?<${name}>[^/]+)`)) + '/?$');
    this.routes.push({ method, path, re, handler });
    this.table.push({ method, path });
    return this;
  }

  get(path: string, h: Handler): this {
    return this.add('GET', path, h);
  }
  post(path: string, h: Handler): this {
    return this.add('POST', path, h);
  }
  delete(path: string, h: Handler): this {
    return this.add('DELETE', path, h);
  }
  head(path: string, h: Handler): this {
    return this.add('HEAD', path, h);
  }
  put(path: string, h: Handler): this {
    return this.add('PUT', path, h);
  }

  /** First route whose pattern matches; `methodMismatch` when only the method differs. */
  match(method: string, path: string): { handler: Handler; params: Record<string, string>; pattern: string } | 'methodMismatch' | undefined {
    let pathMatched = false;
    for (const r of this.routes) {
      const m = r.re.exec(path);
      if (!m) continue;
      if (r.method !== method) {
        pathMatched = true;
        continue;
      }
      const params: Record<string, string> = {};
      for (const [k, v] of Object.entries(m.groups ?? {})) params[k] = decodeSegment(v);
      return { handler: r.handler, params, pattern: r.path };
    }
    return pathMatched ? 'methodMismatch' : undefined;
  }
}
