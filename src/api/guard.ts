/**
 * The request path's hook into the gate (engine/audit/gate.ts): it names the
 * call the router resolved (identity from the listener, the route's action,
 * the object in the path) so the gate can refuse it or record it. The rules
 * are the gate's; this only gathers what a request is.
 */
import type { IncomingMessage } from 'node:http';
import { actionOf } from '../engine/audit/actions.js';
import type { GateCall } from '../engine/audit/gate.js';
import { requestIdentity } from '../engine/audit/identity.js';

/** The object a call is about: the path's container/image/… name or ID, else the image a pull, build or commit names. */
function objectOf(params: Record<string, string>, query: URLSearchParams | undefined): string | undefined {
  const named = params.id ?? params.name;
  if (named !== undefined) return named;
  const image = query?.get('fromImage');
  if (image) return query?.get('tag') ? `${image}:${query.get('tag')}` : image;
  return query?.get('t') ?? query?.get('container') ?? query?.get('repo') ?? undefined;
}

/** The call as the gate sees it; `route` undefined when no route matched (404) or the request failed before routing. */
export function gateCall(
  req: IncomingMessage,
  path: string,
  route?: { method: string; pattern: string; params: Record<string, string> },
  query?: URLSearchParams,
): GateCall {
  return {
    identity: requestIdentity(req.socket, req.headers),
    method: req.method ?? 'GET',
    path,
    action: route ? actionOf(route.method, route.pattern, query) : undefined,
    object: route ? objectOf(route.params, query) : undefined,
  };
}
