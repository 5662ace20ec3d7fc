/**
 * Networks: list (filters), inspect (verbose, scope), create (and dockerd's
 * refusals), connect and disconnect (running and stopped containers, aliases
 * by API version), remove (in use), prune. Names start with `netv-`.
 *
 * Explicit subnets differ per side (10.197.x on dockerd, 10.198.x on berthd):
 * both daemons put their bridges on this one host, and two bridges with the
 * same subnet would take each other's routes.
 */
import assert from 'node:assert/strict';
import { scenario, shape, type Side, type Answer } from '../harness.js';

/** A /24 of this side's own range. */
export function subnet(s: Side, n: number): string {
  return `${s.name === 'dockerd' ? '10.197' : '10.198'}.${n}.0/24`;
}

export async function createNet(s: Side, name: string, body: Record<string, unknown> = {}): Promise<Answer> {
  return s.api('POST', '/networks/create', { body: { Name: name, CheckDuplicate: true, ...body } });
}

export async function removeNets(s: Side, names: string[]): Promise<void> {
  for (const n of names) await s.api('DELETE', `/networks/${n}`);
}

/** A running busybox on `network` (default bridge when absent). */
export async function runCtr(s: Side, name: string, hostConfig: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Promise<string> {
  const c = await s.api('POST', `/containers/create?name=${name}`, { body: { Image: 'busybox', Cmd: ['sleep', '300'], HostConfig: hostConfig, ...extra } });
  const id = (c.json as { Id: string }).Id;
  await s.api('POST', `/containers/${id}/start`);
  return id;
}

/** The names of a network list, sorted (the order of the list is not part of the contract). */
function names(a: Answer): unknown {
  return Array.isArray(a.json)
    ? (a.json as Array<{ Name: string }>)
        .map((n) => n.Name)
        .filter((n) => n.startsWith('netv-') || ['bridge', 'host', 'none'].includes(n))
        .sort()
    : a.json;
}

/** Shapes of the scenario's own entries of a list, by name (the order of the list is not part of the contract). */
function ownShapes(a: Answer): unknown {
  return Array.isArray(a.json)
    ? Object.fromEntries((a.json as Array<{ Name: string }>).filter((n) => n.Name.startsWith('netv-')).map((n) => [n.Name, shape(n)]))
    : a.json;
}

/** dockerd 23+ writes "invalid filter" in lower case (moby api/types/filters); 20.10 capitalised it. */
export const FILTER_CASE = {
  at: /^(bad filter|bad dangling|label!|label! names|docker network ls -q bad filter)\.(message|stderr)$/,
  why: 'dockerd 23+ says "invalid filter \'…\'" in lower case (moby api/types/filters), as Berth does; 20.10 capitalised it',
};

/** A network as inspect shows it, with its side's subnet made generic. */
function netView(s: Side, v: unknown): unknown {
  return JSON.parse(JSON.stringify(v ?? null).replaceAll(s.name === 'dockerd' ? '10.197.' : '10.198.', '10.19X.'));
}

scenario({
  endpoints: ['GET /networks'],
  name: 'network list with filters',
  async run(s, rec) {
    await createNet(s, 'netv-ls-a', { Labels: { 'netv.kind': 'a', 'netv.x': '1' } });
    await createNet(s, 'netv-ls-b', { Labels: { 'netv.kind': 'b' }, Internal: true, IPAM: { Config: [{ Subnet: subnet(s, 5) }] } });
    try {
      const list = await s.api('GET', '/networks');
      rec.answer('list', list, { ignoreBody: true });
      rec.exact('list shapes', ownShapes(list));
      rec.exact('list names', names(list));
      const f = (x: unknown) => `/networks?filters=${encodeURIComponent(JSON.stringify(x))}`;
      for (const [label, filt] of [
        ['name', { name: ['netv-ls-a'] }],
        ['name prefix', { name: ['netv-ls'] }],
        ['label', { label: ['netv.kind'] }],
        ['label=value', { label: ['netv.kind=b'] }],
        ['label!', { 'label!': ['netv.x'], name: ['netv-ls'] }],
        ['driver', { driver: ['bridge'], name: ['netv-'] }],
        ['type custom', { type: ['custom'] }],
        ['type builtin', { type: ['builtin'] }],
        ['dangling', { dangling: ['true'], name: ['netv-ls'] }],
        ['scope', { scope: ['local'], name: ['netv-ls'] }],
        ['scope swarm', { scope: ['swarm'] }],
      ] as const) {
        const a = await s.api('GET', f(filt));
        rec.answer(label, a, { ignoreBody: true });
        rec.exact(`${label} names`, names(a));
      }
      rec.answer('bad filter', await s.api('GET', f({ bogus: ['x'] })));
      rec.answer('bad type', await s.api('GET', f({ type: ['nope'] })));
      rec.answer('bad dangling', await s.api('GET', f({ dangling: ['maybe'] })));
      const one = await s.api('GET', f({ name: ['netv-ls-b'] }));
      rec.exact('entry', netView(s, (one.json as unknown[])?.[0]));
      rec.cli('docker network ls --filter', await s.docker(['network', 'ls', '--filter', 'label=netv.kind', '--format', '{{.Name}} {{.Driver}} {{.Scope}}']));
      rec.cli('docker network ls -q bad filter', await s.docker(['network', 'ls', '--filter', 'nope=1']));
    } finally {
      await removeNets(s, ['netv-ls-a', 'netv-ls-b']);
    }
  },
  allow: [FILTER_CASE],
});

scenario({
  endpoints: ['GET /networks/{id}'],
  name: 'network inspect: by name, ID prefix, verbose, scope; missing',
  async run(s, rec) {
    const c = await createNet(s, 'netv-insp', {
      Labels: { a: 'b' },
      Options: { 'com.docker.network.driver.mtu': '1400' },
      IPAM: { Config: [{ Subnet: subnet(s, 1), Gateway: subnet(s, 1).replace('0/24', '1'), IPRange: subnet(s, 1).replace('0/24', '128/25') }] },
    });
    rec.answer('create', c, { exact: true });
    const id = (c.json as { Id: string }).Id;
    try {
      await runCtr(s, 'netv-insp-c', { NetworkMode: 'netv-insp' });
      for (const [label, path] of [
        ['by name', '/networks/netv-insp'],
        ['by id prefix', `/networks/${id.slice(0, 6)}`],
        ['verbose', '/networks/netv-insp?verbose=true'],
        ['scope local', '/networks/netv-insp?scope=local'],
        ['scope swarm', '/networks/netv-insp?scope=swarm'],
        ['scope bogus', '/networks/netv-insp?scope=bogus'],
        ['missing', '/networks/netv-nonesuch'],
        ['bridge', '/networks/bridge'],
        ['host', '/networks/host'],
        ['none', '/networks/none'],
      ] as const) {
        const a = await s.api('GET', path);
        rec.answer(label, a);
        if (a.status === 200 && !['bridge', 'host', 'none'].includes(label)) rec.exact(`${label} value`, netView(s, a.json));
      }
      rec.cli(
        'docker network inspect',
        await s.docker([
          'network',
          'inspect',
          '--format',
          '{{.Name}} {{.Driver}} {{.Scope}} {{.Internal}} {{.EnableIPv6}} {{range .IPAM.Config}}{{.Subnet}} {{.Gateway}} {{.IPRange}}{{end}} {{len .Containers}}',
          'netv-insp',
        ]),
      );
      rec.cli('docker network inspect missing', await s.docker(['network', 'inspect', 'netv-nonesuch']));
    } finally {
      await s.api('DELETE', '/containers/netv-insp-c?force=1');
      await removeNets(s, ['netv-insp']);
    }
  },
  allow: [
    {
      at: /^bridge\.body\.IPAM\.Config\[0\]\.Gateway$/,
      why: 'the reference dockerd runs with --bridge= a bridge made without an address, so its default network records no gateway',
    },
  ],
});

scenario({
  endpoints: ['POST /networks/create'],
  name: 'network create and its refusals',
  async run(s, rec) {
    const made = ['netv-cr-a', 'netv-cr-b', 'netv-cr-int', 'netv-cr-dup'];
    try {
      rec.answer('create', await createNet(s, 'netv-cr-a', { IPAM: { Config: [{ Subnet: subnet(s, 2) }] } }));
      rec.exact('inspect', netView(s, (await s.api('GET', '/networks/netv-cr-a')).json));
      rec.answer('duplicate name', await createNet(s, 'netv-cr-a'));
      rec.answer('overlapping subnet', await createNet(s, 'netv-cr-b', { IPAM: { Config: [{ Subnet: subnet(s, 2).replace('0/24', '0/25') }] } }));
      rec.answer('bad driver', await createNet(s, 'netv-cr-b', { Driver: 'netv-bogus' }));
      rec.answer('bad ipam driver', await createNet(s, 'netv-cr-b', { IPAM: { Driver: 'netv-bogus' } }));
      rec.answer('host driver', await createNet(s, 'netv-cr-b', { Driver: 'host' }));
      rec.answer('null driver', await createNet(s, 'netv-cr-b', { Driver: 'null' }));
      rec.answer('no name', await s.api('POST', '/networks/create', { body: { Driver: 'bridge' } }));
      rec.answer('bad subnet', await createNet(s, 'netv-cr-b', { IPAM: { Config: [{ Subnet: 'netv' }] } }));
      rec.answer('gateway outside', await createNet(s, 'netv-cr-b', { IPAM: { Config: [{ Subnet: subnet(s, 3), Gateway: '10.1.2.3' }] } }));
      rec.answer('internal', await createNet(s, 'netv-cr-int', { Internal: true, Attachable: true, Labels: { l: 'v' } }));
      const i = (await s.api('GET', '/networks/netv-cr-int')).json as Record<string, unknown>;
      rec.exact('internal flags', {
        Internal: i.Internal,
        Attachable: i.Attachable,
        Labels: i.Labels,
        Options: i.Options,
        Driver: i.Driver,
        Scope: i.Scope,
        IPAM: (i.IPAM as { Driver: string }).Driver,
      });
      rec.answer('without CheckDuplicate', await s.api('POST', '/networks/create', { body: { Name: 'netv-cr-a' } }));
      rec.cli('docker network create dup', await s.docker(['network', 'create', 'netv-cr-a']));
      rec.cli('docker network create bad driver', await s.docker(['network', 'create', '-d', 'netv-bogus', 'netv-cr-b']));
      rec.cli('docker network create overlap', await s.docker(['network', 'create', '--subnet', subnet(s, 2), 'netv-cr-b']));
    } finally {
      // Without CheckDuplicate dockerd 20.10 makes a second network of the same name: remove by ID.
      const list = (await s.api('GET', `/networks?filters=${encodeURIComponent(JSON.stringify({ name: ['netv-cr'] }))}`)).json as Array<{ Id: string }>;
      for (const n of list ?? []) await s.api('DELETE', `/networks/${n.Id}`);
      await removeNets(s, made);
    }
  },
  allow: [
    { at: /^no name\.status$/, why: 'dockerd 23+ answers "invalid name: " with 400 (libnetwork ErrInvalidName is InvalidParameter); 20.10 with 500' },
    {
      at: /^(bad subnet|gateway outside)\.(status|message)$/,
      why: "IPAM config is checked up front in dockerd 25+'s words and with 400 (moby ValidateIPAM, API 1.44, unversioned); 20.10 failed later with 500",
    },
    {
      at: /^without CheckDuplicate\./,
      why: 'dockerd 25+ refuses a duplicate network name whatever CheckDuplicate says (API 1.44, unversioned); 20.10 made a second network of that name',
    },
  ],
});

/** The container's view of one network: aliases, links, DNS names, whether it has an address. */
async function endpointOf(s: Side, ctr: string, net: string, version?: string): Promise<unknown> {
  const i = (await s.api('GET', `/containers/${ctr}/json`, version ? { version } : {})).json as {
    Id: string;
    NetworkSettings: { Networks: Record<string, Record<string, unknown>> };
  };
  const e = i.NetworkSettings.Networks[net];
  if (!e) return { networks: Object.keys(i.NetworkSettings.Networks).sort() };
  return {
    networks: Object.keys(i.NetworkSettings.Networks).sort(),
    Aliases: (e.Aliases as string[] | null)?.map((a) => (a === i.Id.slice(0, 12) ? '<short id>' : a)) ?? null,
    DNSNames: 'DNSNames' in e ? ((e.DNSNames as string[] | null)?.map((a) => (a === i.Id.slice(0, 12) ? '<short id>' : a)) ?? null) : '(absent)',
    hasAddress: !!e.IPAddress,
    IPAMConfig: e.IPAMConfig,
    DriverOpts: e.DriverOpts,
  };
}

scenario({
  endpoints: ['POST /networks/{id}/connect', 'POST /networks/{id}/disconnect'],
  name: 'network connect and disconnect: running and stopped containers, aliases',
  async run(s, rec) {
    await createNet(s, 'netv-cn', { IPAM: { Config: [{ Subnet: subnet(s, 4) }] } });
    try {
      await runCtr(s, 'netv-cn-run');
      await s.api('POST', '/containers/create?name=netv-cn-stop', { body: { Image: 'busybox', Cmd: ['true'] } });
      rec.answer(
        'connect running',
        await s.api('POST', '/networks/netv-cn/connect', {
          body: { Container: 'netv-cn-run', EndpointConfig: { Aliases: ['netv-al1', 'netv-al2'], DriverOpts: { 'netv.opt': 'running' } } },
        }),
      );
      rec.exact('running endpoint', await endpointOf(s, 'netv-cn-run', 'netv-cn'));
      rec.answer('connect again', await s.api('POST', '/networks/netv-cn/connect', { body: { Container: 'netv-cn-run' } }));
      rec.answer(
        'connect stopped',
        await s.api('POST', '/networks/netv-cn/connect', {
          body: {
            Container: 'netv-cn-stop',
            EndpointConfig: {
              Aliases: ['netv-al3'],
              IPAMConfig: { IPv4Address: subnet(s, 4).replace('0/24', '77') },
              DriverOpts: { 'netv.opt': 'stopped', 'netv.b': 'x' },
            },
          },
        }),
      );
      rec.exact('stopped endpoint', await endpointOf(s, 'netv-cn-stop', 'netv-cn'));
      const n = (await s.api('GET', '/networks/netv-cn')).json as { Containers: Record<string, { Name: string }> };
      rec.exact(
        'network containers',
        Object.values(n.Containers ?? {})
          .map((c) => c.Name)
          .sort(),
      );
      rec.answer('connect missing container', await s.api('POST', '/networks/netv-cn/connect', { body: { Container: 'netv-nonesuch' } }));
      rec.answer('connect missing network', await s.api('POST', '/networks/netv-nonesuch/connect', { body: { Container: 'netv-cn-run' } }));
      rec.answer(
        'alias on default bridge',
        await s.api('POST', '/networks/bridge/connect', { body: { Container: 'netv-cn-stop', EndpointConfig: { Aliases: ['x'] } } }),
      );
      rec.answer('connect to host', await s.api('POST', '/networks/host/connect', { body: { Container: 'netv-cn-run' } }));
      rec.answer('disconnect running', await s.api('POST', '/networks/netv-cn/disconnect', { body: { Container: 'netv-cn-run' } }));
      rec.exact('after disconnect', await endpointOf(s, 'netv-cn-run', 'netv-cn'));
      rec.answer('disconnect again', await s.api('POST', '/networks/netv-cn/disconnect', { body: { Container: 'netv-cn-run' } }));
      rec.answer('disconnect again, force', await s.api('POST', '/networks/netv-cn/disconnect', { body: { Container: 'netv-cn-run', Force: true } }));
      rec.answer('disconnect stopped', await s.api('POST', '/networks/netv-cn/disconnect', { body: { Container: 'netv-cn-stop' } }));
      rec.exact('stopped after disconnect', await endpointOf(s, 'netv-cn-stop', 'netv-cn'));
      rec.cli(
        'docker network connect --alias --driver-opt',
        await s.docker(['network', 'connect', '--alias', 'netv-al4', '--driver-opt', 'netv.cli=1', 'netv-cn', 'netv-cn-run']),
      );
      rec.cli(
        'docker inspect DriverOpts',
        await s.docker(['inspect', '--format', '{{json (index .NetworkSettings.Networks "netv-cn").DriverOpts}}', 'netv-cn-run']),
      );
      rec.cli('docker network disconnect', await s.docker(['network', 'disconnect', 'netv-cn', 'netv-cn-run']));
      rec.cli('docker network disconnect again', await s.docker(['network', 'disconnect', 'netv-cn', 'netv-cn-run']));
    } finally {
      await s.api('DELETE', '/containers/netv-cn-run?force=1');
      await s.api('DELETE', '/containers/netv-cn-stop?force=1');
      await removeNets(s, ['netv-cn']);
    }
  },
});

scenario({
  endpoints: ['POST /containers/create', 'GET /containers/{id}/json'],
  name: 'network aliases and endpoint DriverOpts in inspect (API 1.41)',
  async run(s, rec) {
    await createNet(s, 'netv-al');
    try {
      const body = {
        Image: 'busybox',
        Cmd: ['sleep', '300'],
        HostConfig: { NetworkMode: 'netv-al' },
        NetworkingConfig: { EndpointsConfig: { 'netv-al': { Aliases: ['netv-web'], DriverOpts: { 'netv.opt': 'create' } } } },
      };
      await s.api('POST', '/containers/create?name=netv-al-c', { body });
      rec.exact('created', await endpointOf(s, 'netv-al-c', 'netv-al'));
      await s.api('POST', '/containers/netv-al-c/start');
      rec.exact('running', await endpointOf(s, 'netv-al-c', 'netv-al'));
      rec.exact(
        'running, list',
        (
          (await s.api('GET', '/containers/json?filters=' + encodeURIComponent(JSON.stringify({ name: ['netv-al-c'] })))).json as Array<{
            NetworkSettings: { Networks: Record<string, { Aliases: unknown }> };
          }>
        ).map((c) => Object.keys(c.NetworkSettings.Networks)),
      );
    } finally {
      await s.api('DELETE', '/containers/netv-al-c?force=1');
      await removeNets(s, ['netv-al']);
    }
  },
  allow: [
    {
      at: /^created\.Aliases$/,
      why: 'before API 1.45 dockerd 25+ adds the short ID (and hostname) to Aliases on user networks whatever the state (moby daemon/inspect.go); 20.10 added it only once the endpoint was made',
    },
  ],
});

scenario({
  endpoints: ['DELETE /networks/{id}'],
  name: 'network remove: in use, predefined, missing',
  async run(s, rec) {
    await createNet(s, 'netv-rm');
    try {
      await runCtr(s, 'netv-rm-c', { NetworkMode: 'netv-rm' });
      rec.answer('in use', await s.api('DELETE', '/networks/netv-rm'));
      rec.cli('docker network rm in use', await s.docker(['network', 'rm', 'netv-rm']));
      rec.answer('predefined bridge', await s.api('DELETE', '/networks/bridge'));
      rec.answer('predefined host', await s.api('DELETE', '/networks/host'));
      rec.answer('predefined none', await s.api('DELETE', '/networks/none'));
      rec.answer('missing', await s.api('DELETE', '/networks/netv-nonesuch'));
      await s.api('DELETE', '/containers/netv-rm-c?force=1');
      rec.answer('after container removed', await s.api('DELETE', '/networks/netv-rm'));
      rec.answer('gone', await s.api('GET', '/networks/netv-rm'));
      rec.cli('docker network rm missing', await s.docker(['network', 'rm', 'netv-nonesuch']));
    } finally {
      await s.api('DELETE', '/containers/netv-rm-c?force=1');
      await removeNets(s, ['netv-rm']);
    }
  },
});

scenario({
  endpoints: ['POST /networks/prune'],
  name: 'network prune: unused only, label filters',
  async run(s, rec) {
    // Every network here carries netv.pr, and every prune asks for it: the daemons are shared with other scenarios.
    await createNet(s, 'netv-pr-keep', { Labels: { 'netv.pr': '', 'netv.keep': '1' } });
    await createNet(s, 'netv-pr-used', { Labels: { 'netv.pr': '' } });
    await createNet(s, 'netv-pr-a', { Labels: { 'netv.pr': '' } });
    await createNet(s, 'netv-pr-b', { Labels: { 'netv.pr': '', 'netv.prune': 'yes' } });
    try {
      await s.api('POST', '/containers/create?name=netv-pr-c', { body: { Image: 'busybox', Cmd: ['true'], HostConfig: { NetworkMode: 'netv-pr-used' } } });
      const f = (x: unknown) => `/networks/prune?filters=${encodeURIComponent(JSON.stringify(x))}`;
      const sorted = (a: Answer) => ({
        ...(a.json as object),
        NetworksDeleted: ((a.json as { NetworksDeleted: string[] | null })?.NetworksDeleted ?? null)?.filter((n) => n.startsWith('netv-')).sort() ?? null,
      });
      const lab = await s.api('POST', f({ label: ['netv.prune=yes'] }));
      rec.answer('by label', lab);
      rec.exact('by label deleted', sorted(lab));
      rec.answer('bad filter', await s.api('POST', f({ bogus: ['1'] })));
      const neg = await s.api('POST', f({ label: ['netv.pr'], 'label!': ['netv.keep'] }));
      rec.exact('label! deleted', sorted(neg));
      const left = await s.api('GET', `/networks?filters=${encodeURIComponent(JSON.stringify({ name: ['netv-pr'] }))}`);
      rec.exact('left', names(left));
      rec.cli('docker network prune', await s.docker(['network', 'prune', '-f', '--filter', 'label=netv.nothing']));
    } finally {
      await s.api('DELETE', '/containers/netv-pr-c?force=1');
      await removeNets(s, ['netv-pr-keep', 'netv-pr-used', 'netv-pr-a', 'netv-pr-b']);
    }
  },
  allow: [FILTER_CASE],
});

scenario({
  endpoints: ['GET /containers/{id}/json', 'POST /networks/{id}/connect'],
  name: 'network aliases and DNSNames at API 1.45+',
  berthdOnly: 'API 1.45 changed Aliases in inspect (moby docs/api/version-history.md: no short ID any more; DNSNames, from 1.44, holds it)',
  async run(s) {
    await createNet(s, 'netv-al45');
    try {
      const body = {
        Image: 'busybox',
        Cmd: ['sleep', '300'],
        HostConfig: { NetworkMode: 'netv-al45' },
        NetworkingConfig: { EndpointsConfig: { 'netv-al45': { Aliases: ['netv-web45'], DriverOpts: { 'netv.opt': 'v' } } } },
      };
      await s.api('POST', '/containers/create?name=netv-al45-c', { body, version: '1.47' });
      await s.api('POST', '/containers/netv-al45-c/start', { version: '1.47' });
      for (const [version, aliases] of [
        ['1.47', ['netv-web45']],
        ['1.45', ['netv-web45']],
        ['1.44', ['netv-web45', '<short id>']],
      ] as const) {
        const e = (await endpointOf(s, 'netv-al45-c', 'netv-al45', version)) as { Aliases: unknown; DNSNames: unknown; DriverOpts: unknown };
        assert.deepEqual(e.Aliases, aliases, `Aliases at API ${version}`);
        assert.deepEqual(e.DNSNames, ['netv-al45-c', 'netv-web45', '<short id>'], `DNSNames at API ${version}`);
        assert.deepEqual(e.DriverOpts, { 'netv.opt': 'v' }, `DriverOpts at API ${version}`);
      }
    } finally {
      await s.api('DELETE', '/containers/netv-al45-c?force=1');
      await removeNets(s, ['netv-al45']);
    }
  },
});
