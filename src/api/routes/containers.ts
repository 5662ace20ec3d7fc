/** /containers/*: decode the request, call the container service, encode Docker's answer. */
import { InvalidArgumentError, messageOf, statusOf } from '../../core/errors.js';
import { STATUS_CODES } from 'node:http';
import { compareApiVersions } from '../../core/version.js';
import { DEFAULT_DETACH_KEYS, parseDetachKeys } from '../../core/detach-keys.js';
import type { CreateRequest } from '../../engine/containers/create.js';
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

/** The detachKeys parameter as bytes (docker's default when absent); a bad spec is a 400. */
export function detachKeysParam(spec: string | undefined): Buffer {
  try {
    return parseDetachKeys(spec || DEFAULT_DETACH_KEYS);
  } catch {
    throw new InvalidArgumentError(`Invalid detach keys (${spec}) provided`);
  }
}

/** Raw TTY bytes, or Docker's multiplexed frames when there is no TTY. */
function encoder(tty: boolean): (stream: 'stdout' | 'stderr', data: Buffer) => Buffer {
  return tty ? (_s, d) => d : (s, d) => frame(s === 'stdout' ? 1 : 2, d);
}

async function logs(ctx: Ctx): Promise<void> {
  const ac = new AbortController();
  const { tty, lines } = ctx.engine.streams.logs(ctx.params.id!, {
    stdout: ctx.bool('stdout'),
    stderr: ctx.bool('stderr'),
    tail: ctx.str('tail'),
    follow: ctx.bool('follow'),
    since: ctx.str('since'),
    until: ctx.str('until'),
    timestamps: ctx.bool('timestamps'),
    details: ctx.bool('details'),
    signal: ac.signal,
  });
  ctx.res.on('close', () => ac.abort());
  const enc = encoder(tty);
  // Labelled multiplexed from API 1.42 (moby's version-history); raw before, as dockerd ≥ 23 does.
  const multiplexed = !tty && compareApiVersions(ctx.version, '1.42') >= 0;
  ctx.res.writeHead(200, { 'Content-Type': multiplexed ? 'application/vnd.docker.multiplexed-stream' : 'application/vnd.docker.raw-stream' });
  ctx.res.flushHeaders();
  for await (const r of lines) {
    if (!(await writeToClient(ctx.res, enc(r.stream, r.line)))) break;
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
  const session = ctx.engine.streams.attach(ctx.params.id!);
  const tty = session.tty;
  const sock = ctx.hijack({ multiplexed: !tty && compareApiVersions(ctx.version, '1.42') >= 0 });
  const ac = new AbortController();
  sock.on('close', () => ac.abort());
  sock.on('error', () => ac.abort());
  // The detach keys end this connection; the container keeps running.
  const feed = {
    input: sock,
    stdin: ctx.bool('stdin'),
    detachKeys,
    onDetach: () => {
      ac.abort();
      sock.end();
    },
  };
  const enc = encoder(tty);
  try {
    const output = session.output(
      { logs: ctx.bool('logs'), stream: ctx.bool('stream'), stdout: ctx.bool('stdout'), stderr: ctx.bool('stderr'), signal: ac.signal },
      feed,
    );
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
  const session = ctx.engine.streams.attach(ctx.params.id!);
  let detachKeys: Buffer;
  try {
    detachKeys = detachKeysParam(ctx.str('detachKeys'));
  } catch {
    detachKeys = detachKeysParam(undefined);
  }
  const honoursQuery = compareApiVersions(ctx.version, '1.42') >= 0;
  const [useStdin, useStdout, useStderr] = honoursQuery ? [ctx.bool('stdin'), ctx.bool('stdout'), ctx.bool('stderr')] : [true, true, true];
  const binary = compareApiVersions(ctx.version, '1.28') >= 0;
  const ws = await acceptWebSocket(ctx);
  if (!ws) return;
  const sock = ctx.req.socket;
  const ac = new AbortController();
  const input = new PassThrough();
  ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
    input.write(Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer));
  });
  ws.on('close', () => {
    input.end();
    ac.abort();
  });
  ws.on('error', () => ac.abort());
  const feed = { input, stdin: useStdin, detachKeys, onDetach: () => ac.abort() };
  try {
    if (useStdout || useStderr) {
      const output = session.output({ logs: ctx.bool('logs'), stream: ctx.bool('stream'), stdout: useStdout, stderr: useStderr, signal: ac.signal }, feed);
      for await (const r of output) {
        if (!(await sendMessage(ws, sock, r.line, binary))) break;
      }
    } else {
      session.input(feed);
    }
  } finally {
    closeWebSocket(ws, sock);
  }
}

async function stats(ctx: Ctx): Promise<void> {
  const stream = ctx.str('stream') === undefined ? true : ctx.bool('stream');
  if (!stream) return ctx.send(200, await ctx.engine.streams.statsOnce(ctx.params.id!, ctx.bool('one-shot')));
  const ac = new AbortController();
  const samples = ctx.engine.streams.statsStream(ctx.params.id!, ac.signal);
  ctx.res.on('close', () => ac.abort());
  // dockerd sets no content type on the stream (only on a single answer).
  ctx.res.writeHead(200);
  ctx.res.flushHeaders();
  for await (const s of samples) ctx.res.write(JSON.stringify(s) + '\n');
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
    const list = await ctx.engine.listContainers({ all: ctx.bool('all'), limit, size: ctx.bool('size'), filters: ctx.filters() });
    for (const c of list) dnsNamesForVersion(c, ctx.version);
    ctx.send(200, list);
  });
  r.post('/containers/prune', async (ctx) => ctx.send(200, await ctx.engine.containers.prune(ctx.filters())));
  r.get('/containers/{id}/json', async (ctx) => {
    ctx.send(200, endpointsForVersion(dnsNamesForVersion(await ctx.engine.inspectContainer(ctx.params.id!, ctx.bool('size')), ctx.version), ctx.version));
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
  r.post('/containers/{id}/pause', async (ctx) => {
    await ctx.engine.containers.pause(ctx.params.id!);
    ctx.noContent();
  });
  r.post('/containers/{id}/unpause', async (ctx) => {
    await ctx.engine.containers.unpause(ctx.params.id!);
    ctx.noContent();
  });
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
    // A missing container is told before a bad size.
    ctx.engine.containers.get(ctx.params.id!);
    await ctx.engine.streams.resize(ctx.params.id!, ctx.atoi('h'), ctx.atoi('w'));
    ctx.res.writeHead(200);
    ctx.res.end();
  });
}
