/** /build, /commit and /containers/{id}/changes: decode, call the build service, encode Docker's answer. */
import { InvalidArgumentError, messageOf } from '../../core/errors.js';
import { BuildError } from '../../engine/build/builder.js';
import type { ContainerConfig } from '../../core/wire/container-config.js';
import type { Ctx } from '../context.js';
import type { Router } from '../router.js';

function jsonParam<T>(ctx: Ctx, name: string, def: T): T {
  const v = ctx.str(name);
  if (!v) return def;
  try {
    return JSON.parse(v) as T;
  } catch {
    throw new InvalidArgumentError(`invalid ${name} parameter: ${v}`);
  }
}

/** X-Registry-Config: base64 JSON of registry → credentials, as the docker CLI sends with a build. */
function registryConfig(ctx: Ctx): Record<string, unknown> {
  const h = ctx.req.headers['x-registry-config'];
  let all: Record<string, unknown> = {};
  try {
    all = JSON.parse(Buffer.from(String(Array.isArray(h) ? h[0] : (h ?? '')), 'base64').toString('utf8') || '{}') as Record<string, unknown>;
  } catch {
    /* no credentials */
  }
  return all;
}

async function build(ctx: Ctx): Promise<void> {
  const q = ctx.query;
  const quiet = ctx.bool('q');
  const extraHosts = q
    .getAll('extrahosts')
    .flatMap((h) => h.split(','))
    .map((h) => h.trim())
    .filter(Boolean);
  const req = {
    builderVersion: ctx.str('version') || undefined,
    dockerfile: ctx.str('dockerfile') ?? '',
    tags: q.getAll('t').filter(Boolean),
    buildArgs: jsonParam<Record<string, string | null>>(ctx, 'buildargs', {}),
    labels: jsonParam<Record<string, string>>(ctx, 'labels', {}),
    target: ctx.str('target') || undefined,
    noCache: ctx.bool('nocache'),
    pull: ctx.bool('pull'),
    cacheFrom: jsonParam<string[]>(ctx, 'cachefrom', []),
    networkMode: ctx.str('networkmode') || undefined,
    extraHosts,
    rm: ctx.str('rm') === undefined ? true : ctx.bool('rm'),
    forceRm: ctx.bool('forcerm'),
    remote: ctx.str('remote') || undefined,
  };
  let write: ((m: unknown) => void) | undefined;
  const wire = (m: unknown) => {
    write ??= ctx.startStream();
    write(m);
  };
  // With q=1 dockerd holds the build's output back: on success the client gets only the ID, on failure what was held and the error.
  const held: unknown[] = [];
  const send = (m: unknown) => {
    if (quiet) held.push(m);
    else wire(m);
  };
  // A client that hangs up cancels its build, as with dockerd.
  const ac = new AbortController();
  ctx.res.on('close', () => {
    if (!ctx.res.writableFinished) ac.abort();
  });
  try {
    const id = await ctx.engine.builds.run(
      ctx.req,
      { ...req, registryAuths: registryConfig(ctx), signal: ac.signal },
      {
        stream: (t) => send({ stream: t }),
        aux: (v) => send({ aux: v }),
        pull: (m) => send(m),
      },
    );
    if (quiet) wire({ stream: `${id}\n` });
  } catch (err) {
    for (const m of held) wire(m);
    if (!write) throw err;
    const message = messageOf(err);
    // Only a failed RUN carries a code (the CLI exits with it); other errors are bare, as dockerd sends them.
    wire({ errorDetail: err instanceof BuildError ? { code: err.code, message } : { message }, error: message });
  }
  if (!write) ctx.startStream();
  ctx.res.end();
}

async function commit(ctx: Ctx): Promise<void> {
  const container = ctx.str('container');
  if (!container) throw new InvalidArgumentError('container is required');
  const body = await ctx.decode<ContainerConfig>('ImageCommit');
  const id = await ctx.engine.builds.commit({
    container,
    repo: ctx.str('repo') || undefined,
    tag: ctx.str('tag') || undefined,
    comment: ctx.str('comment') || undefined,
    author: ctx.str('author') || undefined,
    pause: ctx.str('pause') === undefined ? true : ctx.bool('pause'),
    changes: ctx.query.getAll('changes'),
    config: body ?? undefined,
  });
  ctx.send(201, { Id: id });
}

export function buildRoutes(r: Router): void {
  r.post('/build', build);
  r.post('/build/prune', async (ctx) => ctx.send(200, ctx.engine.builds.pruneCache(ctx.filters(), ctx.str('keep-storage'))));
  r.post('/commit', commit);
  // No changes is a JSON null in dockerd (a nil slice).
  r.get('/containers/{id}/changes', async (ctx) => {
    const changes = await ctx.engine.builds.changes(ctx.params.id!);
    ctx.send(200, changes.length ? changes : null);
  });
}
