/**
 * The names the authorization policy and the audit log give to API calls:
 * every route of the Engine API (as the router registers it: method and
 * pattern) belongs to one action such as `container.create` or `image.pull`.
 * Decisions are made on the route the router resolved, never on the raw
 * path, so `..`, encoded slashes or a version prefix cannot turn one action
 * into another. A route missing here has no action and is refused by any
 * policy (the unit test keeps the table complete).
 */

const TABLE = `
GET /_ping system.ping
HEAD /_ping system.ping
GET /version system.version
GET /info system.info
GET /events system.events
GET /system/df system.df
POST /auth system.auth
POST /session system.session
POST /berth/system/check system.check
GET /berth/audit system.audit
GET /containers/json container.list
POST /containers/create container.create
POST /containers/prune container.prune
DELETE /containers/{id*} container.delete
GET /containers/{id}/json container.inspect
GET /containers/{id}/top container.top
GET /containers/{id}/logs container.logs
GET /containers/{id}/changes container.diff
GET /containers/{id}/export container.export
GET /containers/{id}/stats container.stats
GET /berth/containers/{id}/history container.stats
POST /containers/{id}/resize container.resize
POST /containers/{id}/start container.start
POST /containers/{id}/stop container.stop
POST /containers/{id}/restart container.restart
POST /containers/{id}/kill container.kill
POST /containers/{id}/update container.update
POST /containers/{id}/rename container.rename
POST /containers/{id}/pause container.pause
POST /containers/{id}/unpause container.unpause
POST /containers/{id}/attach container.attach
GET /containers/{id}/attach/ws container.attach
POST /containers/{id}/wait container.wait
GET /containers/{id}/archive container.archive.get
HEAD /containers/{id}/archive container.archive.get
PUT /containers/{id}/archive container.archive.put
POST /commit container.commit
POST /containers/{id}/exec exec.create
POST /exec/{id}/start exec.start
POST /exec/{id}/resize exec.resize
GET /exec/{id}/json exec.inspect
GET /images/json image.list
POST /images/create image.pull
POST /images/load image.load
GET /images/get image.save
GET /images/{name*}/get image.save
POST /images/prune image.prune
GET /images/search image.search
DELETE /images/{name*} image.delete
GET /images/{name*}/history image.history
GET /images/{name*}/json image.inspect
POST /images/{name*}/push image.push
POST /images/{name*}/tag image.tag
GET /distribution/{name*}/json image.distribution
POST /build image.build
POST /build/prune image.build-prune
GET /networks network.list
POST /networks/create network.create
POST /networks/prune network.prune
GET /networks/{id} network.inspect
DELETE /networks/{id} network.delete
POST /networks/{id}/connect network.connect
POST /networks/{id}/disconnect network.disconnect
GET /volumes volume.list
POST /volumes/create volume.create
POST /volumes/prune volume.prune
GET /volumes/{name} volume.inspect
PUT /volumes/{name} volume.update
DELETE /volumes/{name} volume.delete
GET /plugins plugin.list
GET /plugins/privileges plugin.privileges
POST /plugins/pull plugin.pull
POST /plugins/create plugin.create
GET /plugins/{name*}/json plugin.inspect
DELETE /plugins/{name*} plugin.delete
POST /plugins/{name*}/enable plugin.enable
POST /plugins/{name*}/disable plugin.disable
POST /plugins/{name*}/upgrade plugin.upgrade
POST /plugins/{name*}/push plugin.push
POST /plugins/{name*}/set plugin.set
GET /swarm swarm.inspect
POST /swarm/init swarm.init
POST /swarm/join swarm.join
POST /swarm/leave swarm.leave
POST /swarm/update swarm.update
POST /swarm/unlock swarm.unlock
GET /swarm/unlockkey swarm.unlockkey
GET /nodes node.list
GET /nodes/{id} node.inspect
DELETE /nodes/{id} node.delete
POST /nodes/{id}/update node.update
GET /services service.list
POST /services/create service.create
GET /services/{id} service.inspect
DELETE /services/{id} service.delete
POST /services/{id}/update service.update
GET /services/{id}/logs service.logs
GET /tasks task.list
GET /tasks/{id} task.inspect
GET /tasks/{id}/logs task.logs
GET /secrets secret.list
POST /secrets/create secret.create
GET /secrets/{id} secret.inspect
DELETE /secrets/{id} secret.delete
POST /secrets/{id}/update secret.update
GET /configs config.list
POST /configs/create config.create
GET /configs/{id} config.inspect
DELETE /configs/{id} config.delete
POST /configs/{id}/update config.update
`;

const ACTIONS = new Map<string, string>();
for (const line of TABLE.trim().split('\n')) {
  const [method, pattern, action] = line.split(' ');
  ACTIONS.set(`${method} ${pattern}`, action!);
}

/** Every action name, sorted: what a policy's patterns may name. */
export const ACTION_NAMES: readonly string[] = [...new Set([...ACTIONS.values(), 'image.import'])].sort();

/**
 * The action of a resolved route. `POST /images/create` is a pull, or an
 * import when the request carries `fromSrc` (the handler reads the same query).
 */
export function actionOf(method: string, pattern: string, query?: URLSearchParams): string | undefined {
  const a = ACTIONS.get(`${method} ${pattern}`);
  if (a === 'image.pull' && query?.has('fromSrc')) return 'image.import';
  return a;
}

/** Calls that change state, or can (attach over a websocket carries stdin): the ones the audit log records. */
export function changesState(method: string, action: string | undefined): boolean {
  return (method !== 'GET' && method !== 'HEAD') || action === 'container.attach';
}
