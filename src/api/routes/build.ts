/** POST /build, POST /commit, GET /containers/{id}/changes. */
import { InvalidArgumentError } from '../../core/errors.js';
import { buildImage } from '../../engine/build/service.js';
import { commitContainer, containerChanges } from '../../engine/build/commit.js';
import type { Ctx } from '../context.js';
import type { Router } from '../router.js';

function jsonQuery<T>(ctx: Ctx, name: string, def: T): T {
  const v = ctx.str(name);
  if (!v) return def;
  try { return JSON.parse(v) as T; } catch { throw new InvalidArgumentError(`invalid ${name} value: ${v}`); }
}

async function build(ctx: Ctx): Promise<void> {
  const write = ctx.startStream();
  const extra = ctx.str('extrahosts');
  await buildImage(ctx.engine, ctx.req, {
    tags: ctx.query.getAll('t'),
    dockerfile: ctx.str('dockerfile'),
    buildArgs: jsonQuery(ctx, 'buildargs', {}),
    labels: jsonQuery(ctx, 'labels', {}),
    target: ctx.str('target') || undefined,
    noCache: ctx.bool('nocache'),
    pull: ctx.bool('pull'),
    quiet: ctx.bool('q'),
    cacheFrom: jsonQuery<string[]>(ctx, 'cachefrom', []),
    networkMode: ctx.str('networkmode') || undefined,
    extraHosts: extra ? extra.split(',').filter(Boolean) : [],
    remote: ctx.str('remote') || undefined,
    rm: ctx.str('rm') === undefined ? true : ctx.bool('rm'),
    forceRm: ctx.bool('forcerm'),
  }, write);
  ctx.res.end();
}

export function buildRoutes(r: Router): void {
  r.post('/build', build);
  r.post('/commit', async (ctx) => {
    const container = ctx.str('container');
    if (!container) throw new InvalidArgumentError('container is required');
    let config;
    const raw = await ctx.json<Record<string, unknown> | undefined>().catch(() => undefined);
    if (raw && Object.keys(raw).length) config = raw;
    const id = await commitContainer(ctx.engine.containers, container, {
      repo: ctx.str('repo') || undefined, tag: ctx.str('tag') || undefined, comment: ctx.str('comment') || undefined,
      author: ctx.str('author') || undefined, pause: ctx.str('pause') === undefined ? true : ctx.bool('pause'),
      changes: ctx.query.getAll('changes'), config,
    });
    ctx.send(201, { Id: id });
  });
  r.get('/containers/{id}/changes', async (ctx) => {
    const list = await containerChanges(ctx.engine.containers, ctx.params.id);
    ctx.send(200, list.length ? list : null);
  });
}
