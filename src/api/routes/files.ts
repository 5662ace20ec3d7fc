/** /containers/{id}/archive (HEAD, GET, PUT) and /containers/{id}/export: files in and out of a container. */
import type { Readable } from 'node:stream';
import type { PathStat } from '../../core/wire/path-stat.js';
import type { Ctx } from '../context.js';
import type { Router } from '../router.js';

const STAT_HEADER = 'X-Docker-Container-Path-Stat';

function statHeader(st: PathStat): string {
  return Buffer.from(JSON.stringify(st)).toString('base64');
}

/** Stream a tar to the client; a failure midway can only cut the connection. */
function sendTar(ctx: Ctx, tar: Readable, headers: Record<string, string>): Promise<void> {
  ctx.res.writeHead(200, { 'Content-Type': 'application/x-tar', ...headers });
  return new Promise((resolve) => {
    tar.on('error', () => {
      ctx.res.destroy();
      resolve();
    });
    ctx.res.on('close', () => {
      tar.destroy();
      resolve();
    });
    tar.pipe(ctx.res);
    tar.on('end', () => resolve());
  });
}

function pathParam(ctx: Ctx): string {
  return ctx.str('path') ?? '';
}

export function fileRoutes(r: Router): void {
  r.head('/containers/{id}/archive', async (ctx) => {
    const st = await ctx.engine.files.stat(ctx.params.id!, pathParam(ctx));
    // dockerd answers a stat with its header alone, no content type.
    ctx.res.writeHead(200, { [STAT_HEADER]: statHeader(st) });
    ctx.res.end();
  });
  r.get('/containers/{id}/archive', async (ctx) => {
    await ctx.engine.files.get(ctx.params.id!, pathParam(ctx), (st, tar) => sendTar(ctx, tar, { [STAT_HEADER]: statHeader(st) }));
  });
  r.put('/containers/{id}/archive', async (ctx) => {
    await ctx.engine.files.put(ctx.params.id!, pathParam(ctx), ctx.req, {
      copyUIDGID: ctx.bool('copyUIDGID'),
      noOverwriteDirNonDir: ctx.bool('noOverwriteDirNonDir'),
    });
    ctx.res.writeHead(200);
    ctx.res.end();
  });
  r.get('/containers/{id}/export', async (ctx) => {
    // dockerd sets no type on an export; Go's sniffing names the tar octet-stream.
    await ctx.engine.files.export(ctx.params.id!, (tar) => sendTar(ctx, tar, { 'Content-Type': 'application/octet-stream' }));
  });
}
