/** /networks/*: decode the request, call the network service, encode Docker's answer. */
import { InvalidArgumentError } from '../../core/errors.js';
import type { EndpointConfig } from '../../engine/containers/record.js';
import type { CreateNetworkRequest } from '../../engine/networks/types.js';
import type { Ctx } from '../context.js';
import type { Router } from '../router.js';

export function networkRoutes(r: Router): void {
  r.get('/networks', async (ctx: Ctx) => {
    ctx.send(200, ctx.engine.listNetworks(ctx.filters()));
  });
  r.post('/networks/create', async (ctx: Ctx) => {
    ctx.send(201, await ctx.engine.networks.create(await ctx.decode<CreateNetworkRequest>('NetworkCreate')));
  });
  r.post('/networks/prune', async (ctx: Ctx) => {
    ctx.send(200, await ctx.engine.networks.prune(ctx.filters()));
  });
  r.get('/networks/{id}', async (ctx: Ctx) => {
    const verbose = ctx.str('verbose');
    if (verbose !== undefined && verbose !== '' && !/^(1|t|T|TRUE|true|True|0|f|F|FALSE|false|False)$/.test(verbose)) {
      throw new InvalidArgumentError(`invalid value for verbose: ${verbose}: strconv.ParseBool: parsing "${verbose}": invalid syntax`);
    }
    ctx.send(200, ctx.engine.inspectNetwork(ctx.params.id!, ctx.str('scope')));
  });
  r.delete('/networks/{id}', async (ctx: Ctx) => {
    await ctx.engine.networks.remove(ctx.params.id!);
    ctx.noContent();
  });
  r.post('/networks/{id}/connect', async (ctx: Ctx) => {
    const body = await ctx.decode<{ Container?: string; EndpointConfig?: Partial<EndpointConfig> | null }>('NetworkConnect');
    await ctx.engine.networks.connect(ctx.params.id!, body.Container ?? '', body.EndpointConfig);
    ctx.noContent(200);
  });
  r.post('/networks/{id}/disconnect', async (ctx: Ctx) => {
    const body = await ctx.decode<{ Container?: string; Force?: boolean }>('NetworkDisconnect');
    await ctx.engine.networks.disconnect(ctx.params.id!, body.Container ?? '', !!body.Force);
    ctx.noContent(200);
  });
}
