/** /volumes/*: decode the request, call the volume service, encode Docker's answer. */
import type { CreateVolumeRequest } from '../../engine/volumes/service.js';
import type { Ctx } from '../context.js';
import type { Router } from '../router.js';

export function volumeRoutes(r: Router): void {
  r.get('/volumes', async (ctx: Ctx) => {
    ctx.send(200, { Volumes: ctx.engine.volumes.list(ctx.filters()), Warnings: null });
  });
  r.post('/volumes/create', async (ctx: Ctx) => {
    const svc = ctx.engine.volumes;
    ctx.send(201, svc.volumeView(await svc.create(await ctx.decode<CreateVolumeRequest>('VolumeCreate'))));
  });
  r.post('/volumes/prune', async (ctx: Ctx) => {
    ctx.send(200, await ctx.engine.volumes.prune(ctx.filters(), ctx.version));
  });
  r.get('/volumes/{name}', async (ctx: Ctx) => {
    const svc = ctx.engine.volumes;
    ctx.send(200, svc.volumeView(svc.get(ctx.params.name!)));
  });
  r.put('/volumes/{name}', async (ctx: Ctx) => {
    ctx.engine.volumes.update(ctx.params.name!);
  });
  r.delete('/volumes/{name}', async (ctx: Ctx) => {
    await ctx.engine.volumes.remove(ctx.params.name!, ctx.bool('force'));
    ctx.noContent();
  });
}
