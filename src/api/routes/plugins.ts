/** /plugins: the plugin API of a daemon with no plugins (engine/plugins.ts), requests read in dockerd's order. */
import { BerthError, InvalidArgumentError } from '../../core/errors.js';
import { decodeAuthHeader } from '../../distribution/auth.js';
import { goDecode, GoJsonError } from '../wire/go-json.js';
import type { Ctx } from '../context.js';
import type { Router } from '../router.js';

/** The privileges a pull or upgrade accepts: a JSON list dockerd reads before anything else. */
async function readPrivileges(ctx: Ctx): Promise<void> {
  try {
    goDecode(await ctx.body(1 << 20));
  } catch (err) {
    if (err instanceof GoJsonError) throw new BerthError(`failed to parse privileges: ${err.message}`, 500);
    throw err;
  }
}

/** `?filters=` parsed as dockerd's filters.FromJSON does (its JSON errors are a 500 here). */
function filtersOf(ctx: Ctx): ReturnType<Ctx['filters']> {
  const raw = ctx.str('filters');
  if (raw) {
    try {
      goDecode(raw);
    } catch (err) {
      if (err instanceof GoJsonError) throw new BerthError(err.kind === 'unexpected-eof' ? 'unexpected end of JSON input' : err.message, 500);
      throw err;
    }
  }
  return ctx.filters();
}

function authOf(ctx: Ctx) {
  const h = ctx.req.headers['x-registry-auth'];
  return decodeAuthHeader(Array.isArray(h) ? h[0] : h);
}

export function pluginRoutes(r: Router): void {
  r.get('/plugins', async (ctx) => ctx.send(200, ctx.engine.plugins.list(filtersOf(ctx))));
  r.get('/plugins/privileges', async (ctx) => ctx.send(200, ctx.engine.plugins.privileges(ctx.str('remote') ?? '')));
  r.post('/plugins/pull', async (ctx) => {
    await readPrivileges(ctx);
    await ctx.engine.plugins.pull(ctx.engine.distribution, ctx.str('remote') ?? '', authOf(ctx));
  });
  r.post('/plugins/create', async (ctx) => ctx.engine.plugins.create(ctx.str('name') ?? '', await ctx.body(64 << 20)));
  r.get('/plugins/{name*}/json', async (ctx) => ctx.engine.plugins.notFound(ctx.params.name!));
  r.delete('/plugins/{name*}', async (ctx) => ctx.engine.plugins.notFound(ctx.params.name!));
  r.post('/plugins/{name*}/enable', async (ctx) => {
    const t = ctx.str('timeout') ?? '';
    if (!/^[+-]?\d+$/.test(t)) throw new BerthError(`strconv.Atoi: parsing ${JSON.stringify(t)}: invalid syntax`, 500);
    ctx.engine.plugins.notFound(ctx.params.name!);
  });
  r.post('/plugins/{name*}/disable', async (ctx) => ctx.engine.plugins.notFound(ctx.params.name!));
  r.post('/plugins/{name*}/upgrade', async (ctx) => {
    await readPrivileges(ctx);
    ctx.engine.plugins.notFound(ctx.engine.plugins.taggedName(ctx.params.name!));
  });
  r.post('/plugins/{name*}/push', async (ctx) => ctx.engine.plugins.notFound(ctx.params.name!));
  r.post('/plugins/{name*}/set', async (ctx) => {
    try {
      goDecode(await ctx.body(1 << 20));
    } catch (err) {
      if (err instanceof GoJsonError) throw new InvalidArgumentError(err.kind === 'eof' ? 'got EOF while reading request body' : err.message);
      throw err;
    }
    ctx.engine.plugins.notFound(ctx.params.name!);
  });
}
