/**
 * Swarm, nodes, services, tasks, secrets, configs: the cluster API of a node
 * outside any swarm (engine/swarm.ts). Each route reads its request the way
 * dockerd's swarm router does first — body, version, flags, filters — so a
 * malformed request gets dockerd's 400/500 before the 503 that says there is
 * no swarm.
 */
import { BerthError, InvalidArgumentError } from '../../core/errors.js';
import { goDecode, GoJsonError } from '../wire/go-json.js';
import { parseGoBool } from '../../core/go-values.js';
import type { InitRequest, JoinRequest } from '../../engine/swarm.js';
import type { Ctx } from '../context.js';
import type { Router } from '../router.js';

/** The request body as dockerd's swarm router reads it: an empty one is "got EOF while reading request body". */
async function readJson<T>(ctx: Ctx): Promise<T> {
  try {
    return (goDecode(await ctx.body(16 << 20)) ?? {}) as T;
  } catch (err) {
    if (err instanceof GoJsonError) throw new InvalidArgumentError(err.kind === 'eof' ? 'got EOF while reading request body' : err.message);
    throw err;
  }
}

/** Go's strconv.ParseUint(s, 10, 64) failure text, or undefined when `s` parses. */
function parseUintError(s: string): string | undefined {
  if (!/^\d+$/.test(s)) return `strconv.ParseUint: parsing ${JSON.stringify(s)}: invalid syntax`;
  if (BigInt(s) > 2n ** 64n - 1n) return `strconv.ParseUint: parsing ${JSON.stringify(s)}: value out of range`;
  return undefined;
}

/** `?version=` of an update: swarm, node and service name Go's parse error; secret and config do not. */
function checkVersion(ctx: Ctx, kind: string, terse = false): void {
  const raw = ctx.str('version') ?? '';
  const err = parseUintError(raw);
  if (err) throw new InvalidArgumentError(terse ? `invalid ${kind} version` : `invalid ${kind} version '${raw}': ${err}`);
}

/** A boolean query flag as strconv.ParseBool takes it; `words` makes dockerd's message from the value and Go's error. */
function checkBool(ctx: Ctx, name: string, words: (v: string, goErr: string) => string): void {
  const v = ctx.str(name);
  if (v === undefined || v === '' || parseGoBool(v) !== undefined) return;
  throw new InvalidArgumentError(words(v, `strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`));
}

/** `?filters=` must be JSON; dockerd answers its parse error with 400 on /services and 500 elsewhere. */
function checkFilters(ctx: Ctx, status: 400 | 500): void {
  const raw = ctx.str('filters');
  if (!raw) return;
  try {
    goDecode(raw);
  } catch (err) {
    if (err instanceof GoJsonError) throw new BerthError(err.kind === 'unexpected-eof' ? 'unexpected end of JSON input' : err.message, status);
    throw err;
  }
}

/** Service and task logs: dockerd refuses a request for no stream before it looks for the cluster. */
function checkLogStreams(ctx: Ctx): void {
  if (!ctx.bool('stdout') && !ctx.bool('stderr')) throw new BerthError('Bad parameters: you must choose at least one stream', 500);
}

const notManager = async (ctx: Ctx) => ctx.engine.swarm.notManager();

export function swarmRoutes(r: Router): void {
  r.get('/swarm', notManager);
  r.post('/swarm/init', async (ctx) => ctx.engine.swarm.init(await readJson<InitRequest>(ctx)));
  r.post('/swarm/join', async (ctx) => ctx.engine.swarm.join(await readJson<JoinRequest>(ctx)));
  r.post('/swarm/leave', async (ctx) => ctx.engine.swarm.leave());
  r.post('/swarm/update', async (ctx) => {
    await readJson(ctx);
    checkVersion(ctx, 'swarm');
    for (const flag of ['rotateWorkerToken', 'rotateManagerToken', 'rotateManagerUnlockKey']) checkBool(ctx, flag, (v) => `invalid value for ${flag}: ${v}`);
    ctx.engine.swarm.notManager();
  });
  r.get('/swarm/unlockkey', notManager);
  r.post('/swarm/unlock', async (ctx) => {
    await readJson(ctx);
    ctx.engine.swarm.notManager();
  });

  r.get('/nodes', async (ctx) => {
    checkFilters(ctx, 500);
    ctx.engine.swarm.notManager();
  });
  r.get('/nodes/{id}', notManager);
  r.delete('/nodes/{id}', notManager);
  r.post('/nodes/{id}/update', async (ctx) => {
    await readJson(ctx);
    checkVersion(ctx, 'node');
    ctx.engine.swarm.notManager();
  });

  r.get('/services', async (ctx) => {
    checkFilters(ctx, 400);
    checkBool(ctx, 'status', (v, e) => `invalid value for status: ${v}: ${e}`);
    ctx.engine.swarm.notManager();
  });
  r.post('/services/create', async (ctx) => {
    await readJson(ctx);
    ctx.engine.swarm.notManager();
  });
  r.get('/services/{id}', async (ctx) => {
    checkBool(ctx, 'insertDefaults', (v, e) => `invalid value for insertDefaults: ${v}: ${e}`);
    ctx.engine.swarm.notManager();
  });
  r.delete('/services/{id}', notManager);
  r.post('/services/{id}/update', async (ctx) => {
    await readJson(ctx);
    checkVersion(ctx, 'service');
    ctx.engine.swarm.notManager();
  });
  r.get('/services/{id}/logs', async (ctx) => {
    checkLogStreams(ctx);
    ctx.engine.swarm.notManager();
  });

  r.get('/tasks', async (ctx) => {
    checkFilters(ctx, 500);
    ctx.engine.swarm.notManager();
  });
  r.get('/tasks/{id}', notManager);
  r.get('/tasks/{id}/logs', async (ctx) => {
    checkLogStreams(ctx);
    ctx.engine.swarm.notManager();
  });

  for (const kind of ['secret', 'config']) {
    r.get(`/${kind}s`, async (ctx) => {
      checkFilters(ctx, 500);
      ctx.engine.swarm.notManager();
    });
    r.post(`/${kind}s/create`, async (ctx) => {
      await readJson(ctx);
      ctx.engine.swarm.notManager();
    });
    r.get(`/${kind}s/{id}`, notManager);
    r.delete(`/${kind}s/{id}`, notManager);
    r.post(`/${kind}s/{id}/update`, async (ctx) => {
      await readJson(ctx);
      checkVersion(ctx, kind, true);
      ctx.engine.swarm.notManager();
    });
  }
}
