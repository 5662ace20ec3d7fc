/** /containers/{id}/exec and /exec/*: create, start (hijacked streams), inspect, resize. */
import { compareApiVersions } from '../../core/version.js';
import { join } from 'node:path';
import type { Exec, ExecConfig } from '../../engine/containers/exec.js';
import { readLogs } from '../../engine/containers/logs.js';
import { pipeToShim } from '../../engine/containers/streams.js';
import { EscapeScanner } from '../../core/escape.js';
import { detachKeysParam } from './containers.js';
import { writeToClient } from '../backpressure.js';
import type { Ctx } from '../context.js';
import type { Router } from '../router.js';
import { frame } from '../stdcopy.js';

async function start(ctx: Ctx): Promise<void> {
  const body = await ctx.decode<{ Detach?: boolean; Tty?: boolean }>('ExecStart');
  const execs = ctx.engine.execs;
  const e = execs.get(ctx.params.id!);
  if (body.Detach) {
    const started = await execs.start(e.id);
    started.child!.stdout!.resume();
    started.child!.stderr!.resume();
    started.child!.stdin!.end();
    return ctx.send(200, {});
  }
  const tty = !!e.config.Tty;
  const detachKeys = detachKeysParam(e.config.DetachKeys);
  const started = await execs.start(e.id);
  if (started.shim) return ttySession(ctx, started, detachKeys);
  const child = started.child!;
  const multiplexed = !tty && compareApiVersions(ctx.version, '1.42') >= 0;
  const sock = ctx.hijack(multiplexed ? 'application/vnd.docker.multiplexed-stream' : 'application/vnd.docker.raw-stream');
  let detached = false;
  if (e.config.AttachStdin) {
    const scan = new EscapeScanner(detachKeys);
    sock.on('data', (b: Buffer) => {
      if (scan.detached) return;
      const out = scan.push(b);
      if (out.length) child.stdin!.write(out);
      // Detached: the connection ends, the process runs on with its stdin closed.
      if (scan.detached) { detached = true; child.stdin!.end(); sock.end(); }
    });
    sock.on('end', () => child.stdin!.end());
    sock.resume(); // the server paused it while reading the request body
  } else {
    child.stdin!.end();
    sock.resume();
  }
  sock.on('error', () => { if (!detached) child.kill('SIGKILL'); });
  const forward = (stream: 1 | 2, want: boolean | undefined) => new Promise<void>((resolve) => {
    const src = stream === 1 ? child.stdout! : child.stderr!;
    src.on('data', (b: Buffer) => { if (want !== false && !detached && sock.writable) sock.write(tty ? b : frame(stream, b)); });
    src.on('end', resolve);
    src.on('error', () => resolve());
  });
  await Promise.all([forward(1, e.config.AttachStdout), forward(2, e.config.AttachStderr), started.done]);
  sock.end();
}

/** A TTY session under its shim: output from the shim's log, input into its attach socket. */
async function ttySession(ctx: Ctx, e: Exec, detachKeys: Buffer): Promise<void> {
  const sock = ctx.hijack('application/vnd.docker.raw-stream');
  const ac = new AbortController();
  sock.on('close', () => ac.abort());
  sock.on('error', () => ac.abort());
  if (e.config.AttachStdin) pipeToShim(join(e.shim!.bundle, 'attach'), sock, { detachKeys, onDetach: () => { ac.abort(); sock.end(); } });
  else sock.resume();
  for await (const r of readLogs(e.logPath!, { follow: true, partial: true, signal: ac.signal, stopped: e.done.then(() => {}) })) {
    if (!(await writeToClient(sock, r.line))) break;
  }
  sock.end();
}

export function execRoutes(r: Router): void {
  r.post('/containers/{id}/exec', async (ctx) => {
    const cfg = await ctx.decode<ExecConfig>('ContainerExec');
    ctx.send(201, { Id: ctx.engine.execs.create(ctx.params.id!, cfg) });
  });
  r.post('/exec/{id}/start', start);
  r.get('/exec/{id}/json', async (ctx) => ctx.send(200, ctx.engine.execs.inspect(ctx.params.id!)));
  r.post('/exec/{id}/resize', async (ctx) => {
    await ctx.engine.execs.resize(ctx.params.id!, ctx.int('h', 24), ctx.int('w', 80));
    ctx.send(200, {});
  });
}
