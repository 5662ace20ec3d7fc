/** /containers/*: decode the request, call the container service, encode Docker's answer. */
import { ConflictError, InvalidArgumentError, messageOf, statusOf } from '../../core/errors.js';
import { STATUS_CODES } from 'node:http';
import { compareApiVersions } from '../../core/version.js';
import { DEFAULT_DETACH_KEYS, parseDetachKeys } from '../../core/detach-keys.js';
import { parseTimestampOrDuration } from '../../core/go-time.js';
import { readLogs } from '../../engine/containers/logs.js';
import { logDetails } from '../../engine/containers/logfiles.js';
import { assertReadable } from '../../engine/containers/logdrivers.js';
import type { CreateRequest } from '../../engine/containers/create.js';
import { attachOutput, attachStdin, resizeTty, statsSampler } from '../../engine/containers/streams.js';
import { inspectContainer, listContainers } from '../../engine/containers/views.js';
import { endpointsForVersion, dnsNamesForVersion } from '../wire/network-versions.js';
import type { HostConfig } from '../../core/wire/host-config.js';
import { writeToClient } from '../backpressure.js';
import type { Ctx } from '../context.js';
import type { Router } from '../router.js';
import { frame } from '../../core/wire/stdcopy.js';
import { acceptWebSocket, closeWebSocket, sendMessage } from '../websocket.js';
import { PassThrough } from 'node:stream';
import { fieldsOf } from '../wire/decode.js';

const CONFIG_FIELDS = fieldsOf('ContainerConfig');

function timeParam(ctx: Ctx, name: string): bigint | undefined {
  const v = ctx.str(name);
  if (v === undefined || v === '' || v === '0') return undefined;
  try { return parseTimestampOrDuration(v, new Date()); } catch (e) { throw new InvalidArgumentError((e as Error).message); }
}

/** The detachKeys parameter as bytes (docker's default when absent); a bad spec is a 400. */
export function detachKeysParam(spec: string | undefined): Buffer {
  try { return parseDetachKeys(spec || DEFAULT_DETACH_KEYS); } catch {
    throw new InvalidArgumentError(`Invalid detach keys (${spec}) provided`);
  }
}

/** Raw TTY bytes, or Docker's multiplexed frames when there is no TTY. */
function encoder(tty: boolean): (stream: 'stdout' | 'stderr', data: Buffer) => Buffer {
  return tty ? (_s, d) => d : (s, d) => frame(s === 'stdout' ? 1 : 2, d);
}

async function logs(ctx: Ctx): Promise<void> {
  const svc = ctx.engine.containers;
  const c = svc.get(ctx.params.id!);
  assertReadable(c.rec.HostConfig.LogConfig?.Type);
  const stdout = ctx.bool('stdout');
  const stderr = ctx.bool('stderr');
  if (!stdout && !stderr) throw new InvalidArgumentError('Bad parameters: you must choose at least one stream');
  const tailRaw = ctx.str('tail') ?? 'all';
  // dockerd reads what is not a number as "all".
  const tail = /^[+-]?\d+$/.test(tailRaw) ? Number(tailRaw) : -1;
  const follow = ctx.bool('follow');
  const ac = new AbortController();
  ctx.res.on('close', () => ac.abort());
  const tty = !!c.rec.Config.Tty;
  const enc = encoder(tty);
  const ts = ctx.bool('timestamps');
  const details = ctx.bool('details');
  const detailsPrefix = Buffer.from(logDetails(c.rec.HostConfig.LogConfig, c.rec.Config.Labels ?? {}, c.rec.Config.Env ?? []) + ' ');
  const stopped = c.state.Running ? svc.waitFor(c.rec.Id, 'next-exit').then(() => {}) : Promise.resolve();
  // Labelled multiplexed from API 1.42 (moby's version-history); raw before, as dockerd ≥ 23 does.
  const multiplexed = !tty && compareApiVersions(ctx.version, '1.42') >= 0;
  ctx.res.writeHead(200, { 'Content-Type': multiplexed ? 'application/vnd.docker.multiplexed-stream' : 'application/vnd.docker.raw-stream' });
  ctx.res.flushHeaders();
  for await (const r of readLogs(svc.logPath(c), { follow, tail, sinceNs: timeParam(ctx, 'since'), untilNs: timeParam(ctx, 'until'), stdout, stderr, signal: ac.signal, stopped })) {
    let line = r.line;
    if (details) line = Buffer.concat([detailsPrefix, line]);
    if (ts) line = Buffer.concat([Buffer.from(r.time + ' '), line]);
    if (!(await writeToClient(ctx.res, enc(r.stream, line)))) break;
  }
  ctx.res.end();
}

/**
 * dockerd takes the connection over before it looks at the request, so its
 * refusals (bad detach keys, no such container) come as a status line on the
 * hijacked connection, labelled raw-stream, the message ending in CRLF.
 */
async function attach(ctx: Ctx): Promise<void> {
  try {
    return await attachStreams(ctx);
  } catch (err) {
    if (ctx.hijacked) throw err;
    const status = statusOf(err);
    const sock = ctx.req.socket;
    ctx.hijacked = true;
    sock.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n${messageOf(err)}\r\n`);
  }
}

async function attachStreams(ctx: Ctx): Promise<void> {
  const detachKeys = detachKeysParam(ctx.str('detachKeys'));
  const svc = ctx.engine.containers;
  const c = svc.get(ctx.params.id!);
  if (c.state.Paused) throw new ConflictError(`container ${ctx.params.id} is paused, unpause the container before attach`);
  if (c.state.Restarting) throw new ConflictError(`container ${ctx.params.id} is restarting, wait until the container is running`);
  const tty = !!c.rec.Config.Tty;
  const sock = ctx.hijack({ multiplexed: !tty && compareApiVersions(ctx.version, '1.42') >= 0 });
  svc.attached(c);
  const ac = new AbortController();
  sock.on('close', () => ac.abort());
  sock.on('error', () => ac.abort());
  // Input flows only once output is followed from a fixed place, so the answer to it is never missed.
  // The detach keys end this connection; the container keeps running.
  const stdin = () => {
    if (ctx.bool('stdin')) void attachStdin(svc, c, sock, { detachKeys, onDetach: () => { ac.abort(); sock.end(); } });
    else sock.resume();
  };
  const enc = encoder(tty);
  try {
    const output = attachOutput(svc, c, { logs: ctx.bool('logs'), stream: ctx.bool('stream'), stdout: ctx.bool('stdout'), stderr: ctx.bool('stderr'), signal: ac.signal, positioned: stdin });
    for await (const r of output) {
      if (!(await writeToClient(sock, enc(r.stream, r.line)))) break;
    }
  } finally {
    sock.end();
  }
}

/**
 * The websocket attach. As dockerd: the container is looked up before the
 * handshake (so a missing one is an ordinary 404); output goes out unframed,
 * one message per write, binary from API 1.28 (text before); each message the
 * client sends is stdin. Below API 1.42 dockerd attaches all three streams
 * whatever the query says. Bad detach keys fall back to the default, as
 * dockerd 20.10's websocket route does.
 */
async function wsAttach(ctx: Ctx): Promise<void> {
  const svc = ctx.engine.containers;
  const c = svc.get(ctx.params.id!);
  if (c.state.Paused) throw new ConflictError(`container ${ctx.params.id} is paused, unpause the container before attach`);
  if (c.state.Restarting) throw new ConflictError(`container ${ctx.params.id} is restarting, wait until the container is running`);
  let detachKeys: Buffer;
  try { detachKeys = detachKeysParam(ctx.str('detachKeys')); } catch { detachKeys = detachKeysParam(undefined); }
  const honoursQuery = compareApiVersions(ctx.version, '1.42') >= 0;
  const [useStdin, useStdout, useStderr] = honoursQuery ? [ctx.bool('stdin'), ctx.bool('stdout'), ctx.bool('stderr')] : [true, true, true];
  const binary = compareApiVersions(ctx.version, '1.28') >= 0;
  const ws = await acceptWebSocket(ctx);
  if (!ws) return;
  const sock = ctx.req.socket;
  svc.attached(c);
  const ac = new AbortController();
  const input = new PassThrough();
  ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => { input.write(Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer)); });
  ws.on('close', () => { input.end(); ac.abort(); });
  ws.on('error', () => ac.abort());
  const stdin = () => {
    if (useStdin) void attachStdin(svc, c, input, { detachKeys, onDetach: () => ac.abort() });
    else input.resume();
  };
  try {
    if (useStdout || useStderr) {
      const output = attachOutput(svc, c, { logs: ctx.bool('logs'), stream: ctx.bool('stream'), stdout: useStdout, stderr: useStderr, signal: ac.signal, positioned: stdin });
      for await (const r of output) {
        if (!(await sendMessage(ws, sock, r.line, binary))) break;
      }
    } else {
      stdin();
    }
  } finally {
    closeWebSocket(ws, sock);
  }
}

async function stats(ctx: Ctx): Promise<void> {
  const c = ctx.engine.containers.get(ctx.params.id!);
  const stream = ctx.str('stream') === undefined ? true : ctx.bool('stream');
  const oneShot = ctx.bool('one-shot');
  const sampler = statsSampler(c);
  if (!stream) {
    // Docker takes two samples a second apart so CPU % has a base, unless one-shot.
    if (!oneShot && c.state.Running) { await sampler.sample(); await new Promise((r) => setTimeout(r, 1000)); }
    return ctx.send(200, await sampler.sample());
  }
  let open = true;
  ctx.res.on('close', () => { open = false; });
  // dockerd sets no content type on the stream (only on a single answer).
  ctx.res.writeHead(200);
  ctx.res.flushHeaders();
  while (open) {
    ctx.res.write(JSON.stringify(await sampler.sample()) + '\n');
    await new Promise((r) => setTimeout(r, 1000));
  }
}


export function containerRoutes(r: Router): void {
  r.post('/containers/create', async (ctx) => {
    const body = await ctx.decode<CreateRequest>('ContainerCreate');
    // dockerd's decoder leaves the config nil when no field of it was sent (a body of {} or null).
    if (!CONFIG_FIELDS.some((f) => f in body)) throw new InvalidArgumentError('Config cannot be empty in order to create a container');
    // dockerd ignores ConsoleSize below API 1.42 (it was not part of the contract before).
    if (body.HostConfig?.ConsoleSize && compareApiVersions(ctx.version, '1.42') < 0) body.HostConfig.ConsoleSize = [0, 0];
    ctx.send(201, await ctx.engine.containers.create(ctx.str('name') || undefined, body, { platform: ctx.str('platform') || undefined }));
  });
  r.get('/containers/json', async (ctx) => {
    const limit = ctx.int('limit', -1);
    const list = await listContainers(ctx.engine.containers, { all: ctx.bool('all'), limit, size: ctx.bool('size'), filters: ctx.filters() });
    for (const c of list) dnsNamesForVersion(c, ctx.version);
    ctx.send(200, list);
  });
  r.post('/containers/prune', async (ctx) => ctx.send(200, await ctx.engine.containers.prune(ctx.filters())));
  r.get('/containers/{id}/json', async (ctx) => {
    const c = ctx.engine.containers.get(ctx.params.id!);
    ctx.send(200, endpointsForVersion(dnsNamesForVersion(await inspectContainer(ctx.engine.containers, c, { size: ctx.bool('size'), dataRoot: ctx.engine.opts.dataRoot }), ctx.version), ctx.version));
  });
  r.post('/containers/{id}/start', async (ctx) => {
    ctx.req.resume();
    ctx.noContent((await ctx.engine.containers.start(ctx.params.id!)) ? 204 : 304);
  });
  r.post('/containers/{id}/stop', async (ctx) => {
    const t = ctx.str('t') ?? ctx.str('timeout');
    // The signal parameter came with API 1.42; older clients get the container's stop signal.
    const signal = compareApiVersions(ctx.version, '1.42') >= 0 ? ctx.str('signal') || undefined : undefined;
    const done = await ctx.engine.containers.stop(ctx.params.id!, { timeout: t === undefined || t === '' ? undefined : Number(t), signal });
    ctx.noContent(done ? 204 : 304);
  });
  r.post('/containers/{id}/restart', async (ctx) => {
    const t = ctx.str('t');
    const signal = compareApiVersions(ctx.version, '1.42') >= 0 ? ctx.str('signal') || undefined : undefined;
    await ctx.engine.containers.restart(ctx.params.id!, t === undefined || t === '' ? undefined : Number(t), signal);
    ctx.noContent();
  });
  r.post('/containers/{id}/kill', async (ctx) => {
    await ctx.engine.containers.kill(ctx.params.id!, ctx.str('signal') || undefined);
    ctx.noContent();
  });
  r.post('/containers/{id}/wait', async (ctx) => {
    const code = ctx.engine.containers.waitFor(ctx.params.id!, ctx.str('condition') ?? 'not-running');
    // Headers go out at once: clients take them as "the wait is registered" before they start the container.
    ctx.res.writeHead(200, { 'Content-Type': 'application/json' });
    ctx.res.flushHeaders();
    ctx.res.end(JSON.stringify({ Error: null, StatusCode: await code }) + '\n');
  });
  // dockerd's route takes the rest of the path: `?link=1` names a link as "linker/alias".
  r.delete('/containers/{id*}', async (ctx) => {
    if (ctx.bool('link')) await ctx.engine.containers.removeLink(ctx.params.id!);
    else await ctx.engine.containers.remove(ctx.params.id!, { force: ctx.bool('force'), volumes: ctx.bool('v') });
    ctx.noContent();
  });
  r.post('/containers/{id}/rename', async (ctx) => {
    await ctx.engine.containers.rename(ctx.params.id!, ctx.str('name') ?? '');
    ctx.noContent();
  });
  r.post('/containers/{id}/pause', async (ctx) => { await ctx.engine.containers.pause(ctx.params.id!); ctx.noContent(); });
  r.post('/containers/{id}/unpause', async (ctx) => { await ctx.engine.containers.unpause(ctx.params.id!); ctx.noContent(); });
  r.get('/containers/{id}/top', async (ctx) => ctx.send(200, await ctx.engine.containers.top(ctx.params.id!, ctx.str('ps_args') || '-ef')));
  r.post('/containers/{id}/update', async (ctx) => {
    const warnings = await ctx.engine.containers.update(ctx.params.id!, await ctx.decode<HostConfig>('ContainerUpdate'));
    ctx.send(200, { Warnings: warnings.length ? warnings : null });
  });
  r.get('/containers/{id}/logs', logs);
  r.post('/containers/{id}/attach', attach);
  r.get('/containers/{id}/attach/ws', wsAttach);
  r.get('/containers/{id}/stats', stats);
  r.post('/containers/{id}/resize', async (ctx) => {
    const c = ctx.engine.containers.get(ctx.params.id!);
    const [h, w] = [ctx.atoi('h'), ctx.atoi('w')];
    await resizeTty(ctx.engine.containers, c, h, w);
    ctx.res.writeHead(200);
    ctx.res.end();
  });
}
