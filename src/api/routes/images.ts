/** /images/*: decode the request, call the image service, encode Docker's answer. */
import { pipeline } from 'node:stream/promises';
import { InvalidArgumentError, messageOf } from '../../core/errors.js';
import { compareApiVersions } from '../../core/version.js';
import type { Ctx } from '../context.js';
import { pullRoute } from './distribution.js';
import type { Router } from '../router.js';

async function create(ctx: Ctx): Promise<void> {
  const fromSrc = ctx.str('fromSrc');
  if (fromSrc === undefined) {
    if (ctx.str('fromImage')) return pullRoute(ctx);
    throw new InvalidArgumentError('fromImage or fromSrc is required');
  }
  const id = await ctx.engine.importImage(fromSrc, ctx.req, {
    repo: ctx.str('repo'),
    tag: ctx.str('tag'),
    message: ctx.str('message'),
    changes: ctx.query.getAll('changes'),
    platform: ctx.str('platform'),
  });
  const write = ctx.startStream();
  write({ status: id });
  ctx.res.end();
}

/** dockerd answers a load 200 with a JSON stream whatever happens: a bad archive is an error message in it. */
async function load(ctx: Ctx): Promise<void> {
  let lines: string[];
  try {
    lines = await ctx.engine.loadImages(ctx.req);
  } catch (err) {
    const message = messageOf(err);
    ctx.startStream()({ errorDetail: { message }, error: message });
    ctx.res.end();
    return;
  }
  const write = ctx.startStream();
  for (const l of lines) write({ stream: l + '\n' });
  ctx.res.end();
}

async function save(ctx: Ctx, names: string[]): Promise<void> {
  if (names.length === 0) throw new InvalidArgumentError('no images specified');
  const tar = await ctx.engine.saveImages(names);
  ctx.res.writeHead(200, { 'Content-Type': 'application/x-tar' });
  await pipeline(tar, ctx.res).catch(() => ctx.res.destroy());
}

export function imageRoutes(r: Router): void {
  r.get('/images/json', async (ctx) => {
    const list = await ctx.engine.images.list({ all: ctx.bool('all'), filters: ctx.filters() });
    // VirtualSize left the API in 1.44.
    if (compareApiVersions(ctx.version, '1.44') >= 0) for (const i of list) delete i.VirtualSize;
    ctx.send(200, list);
  });
  r.post('/images/create', create);
  r.post('/images/load', load);
  r.get('/images/get', (ctx) => save(ctx, ctx.query.getAll('names')));
  r.post('/images/prune', async (ctx) => ctx.send(200, await ctx.engine.images.prune(ctx.filters())));
  r.get('/images/{name*}/json', async (ctx) => {
    const out = await ctx.engine.images.inspect(ctx.params.name);
    if (compareApiVersions(ctx.version, '1.44') >= 0) delete out.VirtualSize;
    if (compareApiVersions(ctx.version, '1.45') >= 0) {
      delete out.Container;
      delete out.ContainerConfig;
    }
    ctx.send(200, out);
  });
  r.get('/images/{name*}/history', async (ctx) => ctx.send(200, await ctx.engine.images.history(ctx.params.name)));
  r.get('/images/{name*}/get', (ctx) => save(ctx, [ctx.params.name]));
  r.post('/images/{name*}/tag', async (ctx) => {
    const repo = ctx.str('repo');
    if (!repo) throw new InvalidArgumentError('repository name must have at least one component');
    const tag = ctx.str('tag');
    await ctx.engine.images.tag(ctx.params.name, tag ? `${repo}:${tag}` : repo);
    ctx.noContent(201);
  });
  r.delete('/images/{name*}', async (ctx) => {
    ctx.send(200, await ctx.engine.images.remove(ctx.params.name, { force: ctx.bool('force'), noprune: ctx.bool('noprune') }));
  });
}
