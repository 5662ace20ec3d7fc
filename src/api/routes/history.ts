/**
 * GET /berth/containers/{id}/history: a container's sampled history (engine/history/), the
 * console's charts. A Berth extension under /berth/, which Docker's clients never call.
 */
import { InvalidArgumentError } from '../../core/errors.js';
import type { Router } from '../router.js';

/** `since`: unix seconds, optionally with a fraction; absent or empty means all points. */
function since(v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  if (!/^\d{1,12}(\.\d{1,9})?$/.test(v)) throw new InvalidArgumentError(`invalid value for since: ${JSON.stringify(v)}: unix seconds expected`);
  return Number(v);
}

export function historyRoutes(r: Router): void {
  r.get('/berth/containers/{id}/history', async (ctx) => {
    const s = since(ctx.str('since'));
    ctx.send(200, await ctx.engine.history.query(ctx.params.id!, s));
  });
}
