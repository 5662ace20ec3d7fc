/** Registry routes: pull (POST /images/create?fromImage=), push, /auth, /images/search. */
import { InvalidArgumentError, SystemError } from '../../core/errors.js';
import { goDecode, GoJsonError } from '../wire/go-json.js';
import { decodeBody } from '../wire/decode.js';
import { parseReference } from '../../core/reference.js';
import { decodeAuthHeader, type AuthConfig } from '../../distribution/auth.js';
import type { JsonMessage } from '../../engine/distribution/progress.js';
import type { Ctx } from '../context.js';
import type { Router } from '../router.js';

/** Progress goes out as a JSON stream whose headers are sent with the first message, so early failures keep their HTTP status. */
function lazyStream(ctx: Ctx): (m: JsonMessage) => void {
  let write: ((m: unknown) => void) | undefined;
  return (m) => {
    write ??= ctx.startStream();
    write(m);
  };
}

function authOf(ctx: Ctx): AuthConfig | undefined {
  const h = ctx.req.headers['x-registry-auth'];
  return decodeAuthHeader(Array.isArray(h) ? h[0] : h);
}

/**
 * A push's credentials: X-Registry-Auth, or (the API's older form, which
 * dockerd still reads when the header is absent) an AuthConfig as the body.
 */
async function pushAuth(ctx: Ctx): Promise<AuthConfig | undefined> {
  if (ctx.req.headers['x-registry-auth']) return authOf(ctx);
  try {
    return goDecode(await ctx.body(JSON_LIMIT)) as AuthConfig;
  } catch (err) {
    if (err instanceof GoJsonError) throw new InvalidArgumentError(`Bad parameters and missing X-Registry-Auth: ${err.message}`);
    throw err;
  }
}

const JSON_LIMIT = 1 << 20;

/** Aborts when the client goes away before its answer is complete (dockerd cancels the request's context then). */
function clientGone(ctx: Ctx): AbortSignal {
  const ac = new AbortController();
  ctx.res.on('close', () => {
    if (!ctx.res.writableFinished) ac.abort();
  });
  return ac.signal;
}

/** POST /images/create?fromImage=…&tag=…&platform=… */
export async function pullRoute(ctx: Ctx): Promise<void> {
  const emit = lazyStream(ctx);
  const signal = clientGone(ctx);
  await ctx.engine.pull({
    image: ctx.str('fromImage')!,
    tag: ctx.str('tag') || undefined,
    platform: ctx.str('platform') || undefined,
    auth: authOf(ctx),
    emit,
    signal,
  });
  ctx.res.end();
}

/** dockerd reads /auth's body with a bare json.Decoder: every failure to read it, empty included, is a 500 in Go's words. */
async function authBody(ctx: Ctx): Promise<AuthConfig> {
  const raw = await ctx.body(1 << 20);
  try {
    // Only the first JSON value counts (bytes after it are ignored, as by Go's decoder).
    return decodeBody<AuthConfig>('SystemAuth', Buffer.from(JSON.stringify(goDecode(raw))));
  } catch (err) {
    if (err instanceof GoJsonError || err instanceof InvalidArgumentError) throw new SystemError((err as Error).message);
    throw err;
  }
}

export function distributionRoutes(r: Router): void {
  r.post('/images/{name*}/push', async (ctx) => {
    const auth = await pushAuth(ctx);
    const emit = lazyStream(ctx);
    const tag = ctx.str('tag') || undefined;
    // No tag anywhere: every tag of the repository, as Docker's API does.
    let named = true;
    try {
      named = parseReference(ctx.params.name).tag !== undefined;
    } catch {
      /* push reports the bad name */
    }
    await ctx.engine.push({ name: ctx.params.name, tag, all: !tag && !named, auth, emit });
    ctx.res.end();
  });
  r.get('/distribution/{name*}/json', async (ctx) => {
    ctx.send(200, await ctx.engine.inspectDistribution(ctx.params.name, authOf(ctx)));
  });
  r.post('/auth', async (ctx) => {
    const body = await authBody(ctx);
    ctx.send(200, await ctx.engine.distribution.login(body));
  });
  r.get('/images/search', async (ctx) => {
    const term = ctx.str('term');
    if (!term) throw new InvalidArgumentError('term is required');
    const filters = ctx.filters();
    ctx.send(200, await ctx.engine.distribution.search(term, ctx.int('limit', 25), filters, authOf(ctx)));
  });
}
