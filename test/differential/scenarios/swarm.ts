/**
 * Swarm mode on a node outside any swarm: swarm, nodes, services, tasks,
 * secrets, configs. dockerd answers 503 in its words after checking the
 * request (body, version, flags, filters); clients tidy up on those words
 * (docker-py's leave_swarm(force=True)), so they must be dockerd's.
 * A valid `swarm init`/`join` is not played on dockerd (it would form a swarm
 * and change every other scenario); on berthd it must be refused.
 */
import assert from 'node:assert/strict';
import { scenario, type Side, type Recorder } from '../harness.js';
import { NO_SWARM_MODE } from '../../../src/engine/swarm.js';

async function calls(s: Side, rec: Recorder, list: Array<[string, string, unknown?]>): Promise<void> {
  for (const [method, path, body] of list) {
    const opts = body === undefined ? {} : { body: typeof body === 'string' ? Buffer.from(body) : body };
    rec.answer(`${method} ${path}`, await s.api(method, path, opts));
  }
}

scenario({
  endpoints: ['GET /swarm', 'POST /swarm/leave', 'GET /swarm/unlockkey', 'POST /swarm/unlock', 'POST /swarm/update'],
  name: "swarm: not a manager (503), leave says not part of a swarm, forced or not; bad requests get dockerd's 400 first",
  async run(s, rec) {
    await calls(s, rec, [
      ['GET', '/swarm'],
      ['POST', '/swarm/leave'],
      ['POST', '/swarm/leave?force=1'],
      ['GET', '/swarm/unlockkey'],
      ['POST', '/swarm/unlock', {}],
      ['POST', '/swarm/unlock', ''],
      ['POST', '/swarm/unlock', '{bad'],
      ['POST', '/swarm/update', {}],
      ['POST', '/swarm/update?version=x', {}],
      ['POST', '/swarm/update?version=1&rotateWorkerToken=maybe', {}],
      ['POST', '/swarm/update?version=1&rotateManagerToken=1', {}],
      ['POST', '/swarm/update?version=1', '{"Name": '],
    ]);
    rec.cli('docker swarm leave --force', await s.docker(['swarm', 'leave', '--force']));
    rec.cli('docker swarm unlock-key', await s.docker(['swarm', 'unlock-key']));
    rec.cli('docker info --format {{json .Swarm}}', await s.docker(['info', '--format', '{{json .Swarm}}']));
    rec.cli('docker info --format {{.Swarm.LocalNodeState}}', await s.docker(['info', '--format', '{{.Swarm.LocalNodeState}}']));
  },
});

scenario({
  endpoints: ['POST /swarm/init', 'POST /swarm/join'],
  name: "swarm init/join: dockerd's checks of the request; a valid one is refused by berthd",
  async run(s, rec) {
    await calls(s, rec, [
      ['POST', '/swarm/init', ''],
      ['POST', '/swarm/init', '{"ListenAddr": tru'],
      ['POST', '/swarm/init', {}],
      ['POST', '/swarm/init', { ListenAddr: '0.0.0.0:2377', Spec: { Name: 'other' } }],
      ['POST', '/swarm/join', ''],
      ['POST', '/swarm/join', {}],
      ['POST', '/swarm/join', { ListenAddr: '0.0.0.0:2377' }],
      ['POST', '/swarm/join', { ListenAddr: '0.0.0.0:2377', RemoteAddrs: [''] }],
    ]);
    if (s.name === 'berthd') {
      const init = await s.api('POST', '/swarm/init', { body: { ListenAddr: '0.0.0.0:2377' } });
      assert.equal(init.status, 503);
      assert.deepEqual(init.json, { message: NO_SWARM_MODE });
      const join = await s.api('POST', '/swarm/join', { body: { ListenAddr: '0.0.0.0:2377', RemoteAddrs: ['10.0.0.1:2377'], JoinToken: 'x' } });
      assert.equal(join.status, 503);
      const cli = await s.docker(['swarm', 'init']);
      assert.equal(cli.code, 1);
      assert.equal(cli.stderr.trim(), `Error response from daemon: ${NO_SWARM_MODE}`);
      const info = await s.api('GET', '/info');
      assert.equal((info.json as { Swarm: { LocalNodeState: string } }).Swarm.LocalNodeState, 'inactive', 'a refused init leaves the node inactive');
    }
  },
});

scenario({
  endpoints: ['GET /nodes', 'GET /nodes/{id}', 'DELETE /nodes/{id}', 'POST /nodes/{id}/update'],
  name: 'nodes: 503 not a manager; filters and version checked first',
  async run(s, rec) {
    await calls(s, rec, [
      ['GET', '/nodes'],
      ['GET', '/nodes?filters=bad'],
      ['GET', '/nodes/swarmx-node'],
      ['DELETE', '/nodes/swarmx-node?force=1'],
      ['POST', '/nodes/swarmx-node/update', ''],
      ['POST', '/nodes/swarmx-node/update', {}],
      ['POST', '/nodes/swarmx-node/update?version=3', { Role: 'worker' }],
    ]);
    rec.cli('docker node ls', await s.docker(['node', 'ls']));
    rec.cli('docker node inspect', await s.docker(['node', 'inspect', 'swarmx-node']));
    rec.cli('docker node rm', await s.docker(['node', 'rm', 'swarmx-node']));
  },
});

scenario({
  endpoints: ['GET /services', 'POST /services/create', 'GET /services/{id}', 'DELETE /services/{id}', 'POST /services/{id}/update', 'GET /services/{id}/logs'],
  name: 'services: 503 not a manager; body, version, flags, filters and log streams checked first',
  async run(s, rec) {
    await calls(s, rec, [
      ['GET', '/services'],
      ['GET', '/services?filters=bad'],
      ['GET', '/services?status=maybe'],
      ['GET', `/services?filters=${encodeURIComponent('{"name":{"x":true}}')}&status=1`],
      ['POST', '/services/create', ''],
      ['POST', '/services/create', '{bad'],
      ['POST', '/services/create', { Name: 'swarmx-svc', TaskTemplate: { ContainerSpec: { Image: 'busybox' } } }],
      ['GET', '/services/swarmx-svc'],
      ['GET', '/services/swarmx-svc?insertDefaults=maybe'],
      ['DELETE', '/services/swarmx-svc'],
      ['POST', '/services/swarmx-svc/update', {}],
      ['POST', '/services/swarmx-svc/update?version=1', {}],
      ['GET', '/services/swarmx-svc/logs'],
      ['GET', '/services/swarmx-svc/logs?stdout=1'],
    ]);
    rec.cli('docker service ls', await s.docker(['service', 'ls']));
    rec.cli('docker service create', await s.docker(['service', 'create', '--name', 'swarmx-svc', 'busybox', 'true']));
    rec.cli('docker service inspect', await s.docker(['service', 'inspect', 'swarmx-svc']));
    rec.cli('docker service logs', await s.docker(['service', 'logs', 'swarmx-svc']));
    rec.cli('docker service rm', await s.docker(['service', 'rm', 'swarmx-svc']));
  },
});

scenario({
  endpoints: ['GET /tasks', 'GET /tasks/{id}', 'GET /tasks/{id}/logs'],
  name: 'tasks: 503 not a manager; filters and log streams checked first',
  async run(s, rec) {
    await calls(s, rec, [
      ['GET', '/tasks'],
      ['GET', '/tasks?filters=bad'],
      ['GET', '/tasks/swarmx-task'],
      ['GET', '/tasks/swarmx-task/logs'],
      ['GET', '/tasks/swarmx-task/logs?stderr=1'],
    ]);
    rec.cli('docker service ps', await s.docker(['service', 'ps', 'swarmx-svc']));
  },
});

for (const kind of ['secret', 'config'] as const) {
  scenario({
    endpoints: [`GET /${kind}s`, `POST /${kind}s/create`, `GET /${kind}s/{id}`, `DELETE /${kind}s/{id}`, `POST /${kind}s/{id}/update`],
    name: `${kind}s: 503 not a manager; body, version and filters checked first`,
    async run(s, rec) {
      await calls(s, rec, [
        ['GET', `/${kind}s`],
        ['GET', `/${kind}s?filters=bad`],
        ['POST', `/${kind}s/create`, ''],
        ['POST', `/${kind}s/create`, '[1,'],
        ['POST', `/${kind}s/create`, { Name: `swarmx-${kind}`, Data: 'aGk=' }],
        ['GET', `/${kind}s/swarmx-${kind}`],
        ['DELETE', `/${kind}s/swarmx-${kind}`],
        ['POST', `/${kind}s/swarmx-${kind}/update`, {}],
        ['POST', `/${kind}s/swarmx-${kind}/update?version=2`, {}],
      ]);
      rec.cli(`docker ${kind} ls`, await s.docker([kind, 'ls']));
      rec.cli(`docker ${kind} create`, await s.docker([kind, 'create', `swarmx-${kind}`, '-'], { input: 'hi' }));
      rec.cli(`docker ${kind} inspect`, await s.docker([kind, 'inspect', `swarmx-${kind}`]));
      rec.cli(`docker ${kind} rm`, await s.docker([kind, 'rm', `swarmx-${kind}`]));
    },
  });
}
