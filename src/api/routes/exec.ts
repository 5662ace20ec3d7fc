/** /containers/{id}/exec and /exec/*: create, start (hijacked streams), inspect, resize. */
import type { Socket } from 'node:net';
import { messageOf } from '../../core/errors.js';
import { compareApiVersions } from '../../core/version.js';
import type { Exec, ExecConfig } from '../../engine/containers/exec.js';
import { writeToClient } from '../backpressure.js';
import type { Ctx } from '../context.js';
import type { Router } from '../router.js';
import { frame } from '../../core/wire/stdcopy.js';

async function start(ctx: Ctx): Promise<void> {
  const body = await ctx.decode<{ Detach?: boolean; Tty?: boolean }>('ExecStart');
  const execs = ctx.engine.execs;
  // Refusals that come before the answer (no such exec, container paused) are HTTP errors, as dockerd's.
  const e = execs.usable(ctx.params.id!);
  if (body.Detach) {
    const started = await execs.start(e.id);
    started.stdout?.resume();
    started.stderr?.resume();
    started.child?.stdin?.end();
    ctx.res.writeHead(200);
    ctx.res.end();
    return;
  }
  // dockerd frames by the start request's Tty, not the exec's: a client that says Tty false gets frames.
  const raw = !!body.Tty;
  const sock = ctx.hijack({ multiplexed: !raw && compareApiVersions(ctx.version, '1.42') >= 0, daemonHeaders: true });
  const encode = (stream: 1 | 2, b: Buffer) => (raw ? b : frame(stream, b));
  let started: Exec;
  try {
    started = await execs.start(e.id);
  } catch (err) {
    // The answer is out: later failures (already run, the command would not start) are told in the stream.
    sock.end(encode(1, Buffer.from(`${messageOf(err)}\r\n`)));
    return;
  }
  if (started.shim) return ttySession(ctx, sock, started, encode);
  const child = started.child!;
  if (e.config.AttachStdin) {
    sock.on('data', (b: Buffer) => child.stdin!.write(b));
    sock.on('end', () => child.stdin!.end());
  } else {
    child.stdin!.end();
  }
  sock.resume(); // the server paused it while reading the request body
  sock.on('error', () => child.kill('SIGKILL'));
  const forward = (stream: 1 | 2, want: boolean | undefined) =>
    new Promise<void>((resolve) => {
      const src = stream === 1 ? started.stdout! : started.stderr!;
      src.on('data', (b: Buffer) => {
        if (want !== false && sock.writable) sock.write(encode(stream, b));
      });
      src.on('end', resolve);
      src.on('error', () => resolve());
    });
  await Promise.all([forward(1, e.config.AttachStdout), forward(2, e.config.AttachStderr), started.done]);
  sock.end();
}

/** A TTY session under its shim (engine's execTty); the detach keys end the connection with dockerd's words. */
async function ttySession(ctx: Ctx, sock: Socket, e: Exec, encode: (stream: 1 | 2, b: Buffer) => Buffer): Promise<void> {
  const ac = new AbortController();
  sock.on('close', () => ac.abort());
  sock.on('error', () => ac.abort());
  const onDetach = () => {
    ctx.engine.execs.detached(e);
    ac.abort();
    sock.end(encode(1, Buffer.from('exec attach failed: error on attach stdin: read escape sequence\r\n')));
  };
  for await (const r of ctx.engine.streams.execTty(e, sock, { signal: ac.signal, onDetach })) {
    if (!e.config.AttachStdout && !e.config.AttachStderr) continue;
    if (!(await writeToClient(sock, encode(1, r.line)))) break;
  }
  if (!ac.signal.aborted) sock.end();
}

export function execRoutes(r: Router): void {
  r.post('/containers/{id}/exec', async (ctx) => {
    const cfg = await ctx.decode<ExecConfig>('ContainerExec');
    ctx.send(201, { Id: ctx.engine.execs.create(ctx.params.id!, cfg) });
  });
  r.post('/exec/{id}/start', start);
  r.get('/exec/{id}/json', async (ctx) => ctx.send(200, ctx.engine.execs.inspect(ctx.params.id!)));
  r.post('/exec/{id}/resize', async (ctx) => {
    await ctx.engine.execs.resize(ctx.params.id!, ctx.atoi('h'), ctx.atoi('w'));
    ctx.res.writeHead(200);
    ctx.res.end();
  });
}
