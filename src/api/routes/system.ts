/** /_ping, /version, /info, /events, /system/df, and Berth's /berth/system/check. */
import { SystemError } from '../../core/errors.js';
import type { Filters } from '../../core/filters.js';
import { goDecode, GoJsonError } from '../wire/go-json.js';
import { API_VERSION } from '../../core/version.js';
import type { Ctx } from '../context.js';
import { dnsNamesForVersion } from '../wire/network-versions.js';
import type { Router } from '../router.js';

export const PING_HEADERS = {
  'API-Version': API_VERSION,
  'Builder-Version': '1',
  'Docker-Experimental': 'false',
  'OSType': 'linux',
  // dockerd 23+ tells clients the node's swarm state here; Berth's is always inactive (engine/swarm.ts).
  'Swarm': 'inactive',
  'Cache-Control': 'no-cache, no-store, must-revalidate',
  'Pragma': 'no-cache',
};

/**
 * Event timestamps as dockerd parses them (timetypes.ParseTimestamps): whole
 * seconds, optionally "."-fraction; a part that is not an integer fails with
 * Go's strconv error, which dockerd answers with 500.
 */
function timestampNano(v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  const [s = '', frac] = v.split(/\.(.*)/s);
  const int = (x: string) => {
    if (!/^[+-]?\d+$/.test(x)) throw new SystemError(`strconv.ParseInt: parsing ${JSON.stringify(x)}: invalid syntax`);
    return Number(x);
  };
  const secs = int(s);
  if (frac === undefined) return secs * 1e9;
  const n = int(frac);
  return secs * 1e9 + Math.trunc(n * 10 ** (9 - frac.length));
}

/** `?filters=` as dockerd's events route reads it: its JSON errors are a 500 in Go's words. */
function eventFilters(ctx: Ctx): Filters {
  const raw = ctx.str('filters');
  if (raw) {
    try {
      goDecode(raw);
    } catch (err) {
      if (err instanceof GoJsonError) throw new SystemError(err.kind === 'unexpected-eof' ? 'unexpected end of JSON input' : err.message);
      throw err;
    }
  }
  return ctx.filters();
}

async function events(ctx: Ctx): Promise<void> {
  const since = timestampNano(ctx.str('since'));
  const until = timestampNano(ctx.str('until'));
  const filters = eventFilters(ctx);
  const write = ctx.startStream();
  const ac = new AbortController();
  ctx.res.on('close', () => ac.abort());
  await ctx.engine.events.follow({ since, until, filters, signal: ac.signal }, write);
  ctx.res.end();
}

export function systemRoutes(r: Router): void {
  const ping = async (ctx: Ctx) => {
    ctx.res.writeHead(200, { ...PING_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': ctx.req.method === 'HEAD' ? '0' : '2' });
    ctx.res.end(ctx.req.method === 'HEAD' ? undefined : 'OK');
  };
  r.get('/_ping', ping).head('/_ping', ping);
  r.get('/version', async (ctx) => ctx.send(200, await ctx.engine.version()));
  r.get('/info', async (ctx) => ctx.send(200, await ctx.engine.info(ctx.version)));
  r.get('/events', events);
  r.get('/system/df', async (ctx) => {
    const df = await ctx.engine.diskUsage(ctx.version);
    for (const c of (df.Containers ?? []) as Array<Record<string, unknown>>) dnsNamesForVersion(c, ctx.version);
    ctx.send(200, df);
  });
  r.post('/berth/system/check', async (ctx) => ctx.send(200, await ctx.engine.checkStore(ctx.bool('repair'))));
}
