/**
 * Networks end to end, through berth and the real docker CLI: the default
 * bridge, published ports, user networks with the embedded DNS, isolation,
 * connect/disconnect, the host/none/container modes, bad input, and no leaks
 * (veths, iptables rules, leases, namespaces) after rm, network rm and a
 * kill -9 of berthd. Traffic goes only to loopback, the host's own address,
 * and containers or namespaces this suite makes.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import { get } from 'node:http';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Daemon, startDaemon, importBusybox, busyboxTar, http, run } from '../helpers.js';

let d: Daemon;
const BASE = 20000 + Math.floor(Math.random() * 20000);
let nextPort = BASE;
const port = () => nextPort++;

before(async () => {
  // Its own default bridge (not berth0), so a berthd the machine runs never adds veths the leak checks count.
  d = await startDaemon();
  await importBusybox(d);
  const r = await d.berth(['import', '--change', 'EXPOSE 80', '--change', 'CMD ["sh"]', busyboxTar(), 'web:exposed']);
  assert.equal(r.code, 0, r.stderr);
});
after(async () => {
  await d.removeContainers();
  for (const n of (await d.berth(['network', 'ls', '--filter', 'type=custom', '-q'])).stdout.trim().split('\n').filter(Boolean))
    await d.berth(['network', 'rm', n]);
  await d.cleanup();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const HTTPD = ['sh', '-c', 'mkdir -p /www && echo "hello from $(hostname)" > /www/index.html && exec httpd -f -p 80 -h /www'];

/** GET http://host:port/ until it answers (httpd takes a moment), or undefined at the deadline. */
async function httpGet(host: string, p: number, deadlineMs = 15_000): Promise<string | undefined> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    const body = await new Promise<string | undefined>((resolve) => {
      const req = get({ host, port: p, path: '/', timeout: 2000 }, (res) => {
        let b = '';
        res.on('data', (c: Buffer) => {
          b += c.toString();
        });
        res.on('end', () => resolve(res.statusCode === 200 ? b : undefined));
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(undefined));
    });
    if (body !== undefined) return body;
    await sleep(200);
  }
  return undefined;
}

async function ok(p: Promise<{ code: number; stdout: string; stderr: string }>): Promise<string> {
  const r = await p;
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

/** The host's own non-loopback IPv4 address. */
async function hostAddress(): Promise<string> {
  const addrs = JSON.parse((await run('ip', ['-j', '-4', 'addr'])).stdout) as Array<{ ifname: string; addr_info: Array<{ local: string; scope: string }> }>;
  for (const a of addrs)
    for (const i of a.addr_info) if (a.ifname !== 'lo' && i.scope === 'global' && !a.ifname.startsWith('br') && !a.ifname.startsWith('berth')) return i.local;
  throw new Error('no host address');
}

/** Everything a container's networking leaves on the host, counted. */
async function footprint(): Promise<{ veths: number; rules: string[]; leases: string[]; netns: string[]; state: string[]; portmap: number }> {
  const bridges = new Set<string>();
  for (const f of readdirSync(join(d.dataRoot, 'networks')).filter((x) => x.endsWith('.json'))) {
    const n = JSON.parse(readFileSync(join(d.dataRoot, 'networks', f), 'utf8')) as { BridgeName?: string };
    if (n.BridgeName) bridges.add(n.BridgeName);
  }
  const links = JSON.parse((await run('ip', ['-j', 'link', 'show', 'type', 'veth'])).stdout || '[]') as Array<{ ifname: string; master?: string }>;
  const tag = createHash('sha256').update(d.dataRoot).digest('hex').slice(0, 8);
  const rules: string[] = [];
  for (const t of ['filter', 'nat'])
    rules.push(...(await run('iptables', ['-w', '-t', t, '-S'])).stdout.split('\n').filter((l) => l.includes(`berth:${tag}:`)));
  const ipam = join(d.dataRoot, 'networks', 'ipam');
  const leases = existsSync(ipam)
    ? readdirSync(ipam).flatMap((n) =>
        readdirSync(join(ipam, n))
          .filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f))
          .map((f) => `${n.slice(0, 12)}/${f}`),
      )
    : [];
  const ls = (p: string) => (existsSync(p) ? readdirSync(p) : []);
  const ids = new Set([...ls(join(d.execRoot, 'network')).map((f) => f.replace(/\.json$/, ''))]);
  const nat = (await run('iptables', ['-w', '-t', 'nat', '-S'])).stdout;
  const portmap = nat.split('\n').filter((l) => /CNI-DN-/.test(l) && [...ids, ...ls(join(d.dataRoot, 'containers'))].some((id) => l.includes(id))).length;
  return {
    veths: links.filter((l) => l.master && bridges.has(l.master)).length,
    rules,
    leases,
    netns: ls(join(d.execRoot, 'netns')),
    state: ls(join(d.execRoot, 'network')),
    portmap,
  };
}

test('default bridge: an address, /etc/hosts and resolv.conf, and a published httpd answering on 127.0.0.1 (berth)', async () => {
  const p = port();
  const id = await ok(d.berth(['run', '-d', '--name', 'web1', '-p', `127.0.0.1:${p}:80`, 'busybox', ...HTTPD]));
  assert.match((await httpGet('127.0.0.1', p)) ?? '', /^hello from [0-9a-f]{12}$/m);
  const ip = await ok(d.berth(['inspect', '-f', '{{.NetworkSettings.IPAddress}} {{.NetworkSettings.Networks.bridge.Gateway}}', 'web1']));
  const [addr, gw] = ip.split(' ');
  assert.match(addr!, /^\d+\.\d+\.\d+\.\d+$/);
  assert.match(gw!, /^\d+\.\d+\.\d+\.1$/);
  assert.equal(await ok(d.berth(['exec', 'web1', 'ip', '-4', '-o', 'addr', 'show', 'eth0'])).then((s) => s.includes(`inet ${addr}/`)), true);
  const hosts = await ok(d.berth(['exec', 'web1', 'cat', '/etc/hosts']));
  assert.match(hosts, new RegExp(`^${addr!.replace(/\./g, '\\.')}\\t${id.slice(0, 12)}$`, 'm'));
  const resolv = await ok(d.berth(['exec', 'web1', 'cat', '/etc/resolv.conf']));
  assert.doesNotMatch(resolv, /nameserver 127\./);
  assert.match(resolv, /^nameserver /m);
  assert.equal(await ok(d.berth(['port', 'web1'])), `80/tcp -> 127.0.0.1:${p}`);
  assert.equal(await ok(d.berth(['port', 'web1', '80'])), `127.0.0.1:${p}`);
  assert.equal(await ok(d.berth(['ps', '--filter', 'name=web1', '--format', '{{.Ports}}'])), `127.0.0.1:${p}->80/tcp`);
  const net = JSON.parse(await ok(d.berth(['network', 'inspect', 'bridge']))) as Array<{
    Name: string;
    Driver: string;
    Containers: Record<string, { IPv4Address: string }>;
    Options: Record<string, string>;
  }>;
  assert.equal(net[0]!.Options['com.docker.network.bridge.name'], d.bridge);
  assert.equal(net[0]!.Containers[id]!.IPv4Address.split('/')[0], addr);
  await ok(d.berth(['rm', '-f', 'web1']));
  assert.equal(await httpGet('127.0.0.1', p, 1000), undefined);
});

test("docker CLI: -p PORT:80 answers on 127.0.0.1 and on the host's own address; docker port and ps show it", async () => {
  const p = port();
  await ok(d.docker(['run', '-d', '--name', 'web2', '-p', `${p}:80`, 'busybox', ...HTTPD]));
  assert.match((await httpGet('127.0.0.1', p)) ?? '', /^hello from/);
  assert.match((await httpGet(await hostAddress(), p)) ?? '', /^hello from/);
  // As dockerd: a binding without a host address is published on [::] too, and answers through ::1.
  assert.equal(await ok(d.docker(['port', 'web2'])), `80/tcp -> 0.0.0.0:${p}\n80/tcp -> [::]:${p}`);
  assert.match(await ok(d.docker(['ps', '--filter', 'name=web2', '--format', '{{.Ports}}'])), new RegExp(`0\\.0\\.0\\.0:${p}->80/tcp, \\[::\\]:${p}->80/tcp`));
  const ports = JSON.parse(await ok(d.docker(['inspect', '-f', '{{json .NetworkSettings.Ports}}', 'web2']))) as Record<
    string,
    Array<{ HostIp: string; HostPort: string }>
  >;
  assert.deepEqual(ports['80/tcp'], [
    { HostIp: '0.0.0.0', HostPort: String(p) },
    { HostIp: '::', HostPort: String(p) },
  ]);
  assert.match((await httpGet('::1', p)) ?? '', /^hello from/);
  // A UDP binding and a random host port (-p 80)
  await ok(d.docker(['run', '-d', '--name', 'web3', '-p', '80', '-p', `${port()}:53/udp`, 'busybox', ...HTTPD]));
  const random = Number(await ok(d.docker(['port', 'web3', '80/tcp'])).then((s) => s.split('\n')[0]!.split(':').pop()));
  assert.ok(random > 0);
  assert.match((await httpGet('127.0.0.1', random)) ?? '', /^hello from/);
  assert.match(await ok(d.docker(['port', 'web3', '53/udp'])), /^0\.0\.0\.0:\d+$/);
  await ok(d.docker(['rm', '-f', 'web2', 'web3']));
});

test("-P publishes the image's EXPOSEd ports on random host ports", async () => {
  await ok(d.berth(['run', '-d', '--name', 'webp', '-P', 'web:exposed', ...HTTPD]));
  const line = await ok(d.berth(['port', 'webp']));
  const m = /^80\/tcp -> 0\.0\.0\.0:(\d+)$/m.exec(line);
  assert.ok(m, line);
  assert.match((await httpGet('127.0.0.1', Number(m[1]))) ?? '', /^hello from/);
  // Exposed but not published: shown as such
  await ok(d.berth(['run', '-d', '--name', 'webx', 'web:exposed', 'sleep', '100']));
  assert.equal(await ok(d.berth(['ps', '--filter', 'name=webx', '--format', '{{.Ports}}'])), '80/tcp');
  await ok(d.berth(['rm', '-f', 'webp', 'webx']));
});

test("a host port already in use is refused with Docker's words and leaves nothing half-created", async () => {
  const p = port();
  await ok(d.berth(['run', '-d', '--name', 'holder', '-p', `${p}:80`, 'busybox', ...HTTPD]));
  const before = await footprint();
  const r = await d.docker(['run', '-d', '--name', 'clash', '-p', `${p}:80`, 'busybox', ...HTTPD]);
  assert.equal(r.code, 125);
  assert.match(r.stderr, new RegExp(`Bind for 0\\.0\\.0\\.0:${p} failed: port is already allocated`));
  assert.deepEqual(await footprint(), before);
  assert.equal(await ok(d.berth(['inspect', '-f', '{{.State.Status}}', 'clash'])), 'created');
  // A port held by a host process: the same refusal
  const q = port();
  const srv = createServer();
  await new Promise<void>((res) => srv.listen(q, '127.0.0.1', () => res()));
  try {
    const r2 = await d.berth(['run', '--rm', '-p', `127.0.0.1:${q}:80`, 'busybox', 'true']);
    assert.equal(r2.code, 125);
    assert.match(r2.stderr, new RegExp(`Bind for 127\\.0\\.0\\.1:${q} failed: port is already allocated`));
  } finally {
    srv.close();
  }
  assert.deepEqual(await footprint(), before);
  await ok(d.berth(['rm', '-f', 'holder', 'clash']));
});

test('user networks: names and aliases resolve through the embedded DNS; other networks are unreachable', async () => {
  await ok(d.berth(['network', 'create', '--subnet', '10.231.0.0/24', '--label', 'suite=net', 'front']));
  await ok(d.docker(['network', 'create', '--subnet', '10.232.0.0/24', '--gateway', '10.232.0.254', '--ip-range', '10.232.0.128/25', 'back']));
  await ok(d.berth(['run', '-d', '--name', 'alpha', '--network', 'front', '--network-alias', 'db', 'busybox', ...HTTPD]));
  await ok(d.docker(['run', '-d', '--name', 'beta', '--network', 'front', 'busybox', 'sleep', '1000']));
  await ok(d.docker(['run', '-d', '--name', 'gamma', '--network', 'back', '--ip', '10.232.0.200', 'busybox', ...HTTPD]));
  assert.equal(await ok(d.berth(['exec', 'beta', 'cat', '/etc/resolv.conf'])).then((s) => s.split('\n')[0]), 'nameserver 10.231.0.1');
  assert.match(await ok(d.berth(['exec', 'beta', 'ping', '-c', '1', '-W', '5', 'alpha'])), /1 packets received/);
  assert.match(await ok(d.berth(['exec', 'beta', 'ping', '-c', '1', '-W', '5', 'db'])), /1 packets received/);
  assert.match(await ok(d.berth(['exec', 'beta', 'timeout', '5', 'wget', '-q', '-O', '-', 'http://db/'])), /^hello from/);
  const alphaId = await ok(d.berth(['inspect', '-f', '{{.Id}}', 'alpha']));
  assert.match(await ok(d.berth(['exec', 'beta', 'nslookup', alphaId.slice(0, 12)])), /Address: 10\.231\.0\.\d+/);
  // --ip and --ip-range honoured
  assert.equal(
    await ok(d.docker(['inspect', '-f', '{{.NetworkSettings.Networks.back.IPAddress}} {{.NetworkSettings.Networks.back.Gateway}}', 'gamma'])),
    '10.232.0.200 10.232.0.254',
  );
  // Across networks: no name, no route through
  const nx = await d.berth(['exec', 'gamma', 'nslookup', 'alpha']);
  assert.doesNotMatch(nx.stdout, /10\.231\.0\./);
  const alphaIp = await ok(d.berth(['inspect', '-f', '{{.NetworkSettings.Networks.front.IPAddress}}', 'alpha']));
  assert.notEqual((await d.berth(['exec', 'gamma', 'ping', '-c', '1', '-W', '2', alphaIp])).code, 0);
  assert.notEqual((await d.berth(['exec', 'gamma', 'timeout', '2', 'wget', '-q', '-O', '-', `http://${alphaIp}/`])).code, 0);
  assert.notEqual((await d.berth(['exec', 'beta', 'ping', '-c', '1', '-W', '2', '10.232.0.200'])).code, 0);
  // inspect, ls with filters and formats
  const ls = await ok(d.berth(['network', 'ls']));
  assert.match(ls.split('\n')[0]!, /^NETWORK ID\s+NAME\s+DRIVER\s+SCOPE$/);
  assert.deepEqual(
    ls
      .split('\n')
      .slice(1)
      .map((l) => l.split(/\s+/)[1]),
    ['back', 'bridge', 'front', 'host', 'none'],
  );
  assert.equal(await ok(d.berth(['network', 'ls', '--filter', 'label=suite=net', '--format', '{{.Name}} {{.Driver}}'])), 'front bridge');
  assert.equal(await ok(d.docker(['network', 'ls', '--filter', 'type=custom', '--format', '{{.Name}}'])), 'back\nfront');
  assert.equal((await ok(d.docker(['network', 'ls', '-q']))).split('\n').length, 5);
  const front = JSON.parse(await ok(d.docker(['network', 'inspect', 'front']))) as Array<{
    IPAM: { Config: Array<{ Subnet: string; Gateway: string }> };
    Containers: Record<string, { Name: string }>;
  }>;
  // As dockerd shows it: the config as given (the gateway, not asked for, is the subnet's first address all the same).
  assert.deepEqual(front[0]!.IPAM.Config, [{ Subnet: '10.231.0.0/24' }]);
  assert.deepEqual(
    Object.values(front[0]!.Containers)
      .map((c) => c.Name)
      .sort(),
    ['alpha', 'beta'],
  );
  assert.equal(await ok(d.docker(['network', 'inspect', '-f', '{{range .IPAM.Config}}{{.IPRange}}{{end}}', 'back'])), '10.232.0.128/25');
});

test("connect and disconnect a running container, with an alias; its /etc/hosts follows, as Docker's", async () => {
  const host = await ok(d.berth(['inspect', '-f', '{{.Config.Hostname}}', 'gamma']));
  const ownLines = async () => (await ok(d.berth(['exec', 'gamma', 'cat', '/etc/hosts']))).split('\n').filter((l) => l.endsWith(`\t${host}`));
  const addrOn = (net: string) => ok(d.berth(['inspect', '-f', `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, 'gamma']));
  const backIp = await addrOn('back');
  assert.deepEqual(await ownLines(), [`${backIp}\t${host}`]);
  await ok(d.docker(['network', 'connect', '--alias', 'late', 'front', 'gamma']));
  assert.deepEqual(await ownLines(), [`${backIp}\t${host}`, `${await addrOn('front')}\t${host}`]);
  assert.match(await ok(d.berth(['exec', 'beta', 'timeout', '5', 'wget', '-q', '-O', '-', 'http://late/'])), /^hello from/);
  assert.match(await ok(d.berth(['exec', 'gamma', 'ip', '-o', 'addr'])), /eth1.*inet 10\.231\.0\./);
  const nets = await ok(d.docker(['inspect', '-f', '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}', 'gamma']));
  assert.equal(nets, 'back front');
  const again = await d.docker(['network', 'connect', 'front', 'gamma']);
  assert.notEqual(again.code, 0);
  await ok(d.berth(['network', 'disconnect', 'front', 'gamma']));
  assert.doesNotMatch(await ok(d.berth(['exec', 'gamma', 'ip', '-o', 'addr'])), /eth1/);
  assert.deepEqual(await ownLines(), [`${backIp}\t${host}`]);
  assert.notEqual((await d.berth(['exec', 'beta', 'ping', '-c', '1', '-W', '2', 'late'])).code, 0);
  const rm = await d.berth(['network', 'rm', 'front']);
  assert.equal(rm.code, 1);
  assert.match(rm.stderr, /Error response from daemon: error while removing network: network front id [0-9a-f]{64} has active endpoints/);
});

test("--link: a hosts line and variables on the default bridge, a DNS alias on a user network, Docker's errors", async () => {
  await ok(d.docker(['run', '-d', '--name', 'linked-db', '-e', 'SECRET=1', '--expose', '5432', 'busybox', 'sleep', '1000']));
  const dbIp = await ok(d.docker(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'linked-db']));
  const dbShort = (await ok(d.docker(['inspect', '-f', '{{.Id}}', 'linked-db']))).slice(0, 12);
  // Legacy link on the default bridge: /etc/hosts names the alias, the target's hostname and name; variables as Docker sets them.
  const out = await ok(
    d.docker([
      'run',
      '--rm',
      '--name',
      'linker1',
      '--link',
      'linked-db:dbx',
      'busybox',
      'sh',
      '-c',
      'grep dbx /etc/hosts; env | grep ^DBX_ | sort; ping -c 1 -W 5 dbx >/dev/null && echo reached',
    ]),
  );
  assert.deepEqual(out.split('\n'), [
    `${dbIp}\tdbx ${dbShort} linked-db`,
    'DBX_ENV_SECRET=1',
    'DBX_NAME=/linker1/dbx',
    `DBX_PORT=tcp://${dbIp}:5432`,
    `DBX_PORT_5432_TCP=tcp://${dbIp}:5432`,
    `DBX_PORT_5432_TCP_ADDR=${dbIp}`,
    'DBX_PORT_5432_TCP_PORT=5432',
    'DBX_PORT_5432_TCP_PROTO=tcp',
    'reached',
  ]);
  await ok(d.berth(['create', '--name', 'linker2', '--link', 'linked-db', 'busybox', 'true']));
  assert.equal(await ok(d.docker(['inspect', '-f', '{{json .HostConfig.Links}}', 'linker2'])), '["/linked-db:/linker2/linked-db"]');
  // The target stopped: the linking container cannot start, in Docker's words.
  await ok(d.berth(['stop', '-t', '0', 'linked-db']));
  const start = await d.docker(['start', 'linker2']);
  assert.notEqual(start.code, 0);
  assert.match(start.stderr, /Cannot link to a non running container: \/linked-db AS \/linker2\/linked-db/);
  // Links follow a rename of either end, as Docker keeps them by container: the linker starts with its target renamed.
  await ok(d.berth(['start', 'linked-db']));
  await ok(d.docker(['rename', 'linked-db', 'linked-db2']));
  await ok(d.berth(['rename', 'linker2', 'linker2b']));
  assert.equal(await ok(d.docker(['inspect', '-f', '{{json .HostConfig.Links}}', 'linker2b'])), '["/linked-db2:/linker2b/linked-db"]');
  await ok(d.docker(['start', 'linker2b']));
  await ok(d.berth(['rename', 'linked-db2', 'linked-db']));
  await ok(d.berth(['rm', '-f', 'linker2b']));
  await ok(d.berth(['stop', '-t', '0', 'linked-db']));
  // On a user network a link is a name only the linking container resolves.
  await ok(d.berth(['network', 'create', 'linknet']));
  await ok(d.berth(['run', '-d', '--name', 'linked-web', '--network', 'linknet', 'busybox', 'sleep', '1000']));
  await ok(d.docker(['run', '-d', '--name', 'linker3', '--network', 'linknet', '--link', 'linked-web:site', 'busybox', 'sleep', '1000']));
  assert.match(await ok(d.berth(['exec', 'linker3', 'ping', '-c', '1', '-W', '5', 'site'])), /1 packets received/);
  assert.equal(
    await ok(d.docker(['inspect', '-f', '{{json .HostConfig.Links}} {{json .NetworkSettings.Networks.linknet.Links}}', 'linker3'])),
    'null ["linked-web:site"]',
  );
  // A renamed target keeps answering to the alias.
  await ok(d.berth(['rename', 'linked-web', 'linked-web2']));
  assert.equal(await ok(d.docker(['inspect', '-f', '{{json .NetworkSettings.Networks.linknet.Links}}', 'linker3'])), '["linked-web2:site"]');
  assert.match(await ok(d.berth(['exec', 'linker3', 'ping', '-c', '1', '-W', '5', 'site'])), /1 packets received/);
  await ok(d.berth(['rename', 'linked-web2', 'linked-web']));
  const other = await d.berth(['run', '--rm', '--network', 'linknet', 'busybox', 'ping', '-c', '1', '-W', '2', 'site']);
  assert.notEqual(other.code, 0, "the alias is the linking container's own");
  // Bad input: an unknown target, and links with host networking.
  const missing = await d.docker(['run', '--rm', '--link', 'nosuch:x', 'busybox', 'true']);
  assert.equal(missing.code, 125);
  assert.match(missing.stderr, /could not get container for nosuch: No such container: nosuch/);
  const host = await d.berth(['run', '--rm', '--network', 'host', '--link', 'linked-web', 'busybox', 'true']);
  assert.equal(host.code, 125);
  assert.match(host.stderr, /conflicting options: host type networking can't be used with links/);
  await ok(d.berth(['rm', '-f', 'linked-db', 'linked-web', 'linker3']));
  await ok(d.berth(['network', 'rm', 'linknet']));
});

test('--mac-address: the interface gets it on the default bridge and on a user network; inspect shows it; bad values refused', async () => {
  assert.match(
    await ok(d.docker(['run', '--rm', '--mac-address', '02:42:AC:11:00:99', 'busybox', 'ip', 'link', 'show', 'eth0'])),
    /link\/ether 02:42:ac:11:00:99 /,
  );
  await ok(d.berth(['network', 'create', 'macnet']));
  await ok(d.berth(['run', '-d', '--name', 'mac1', '--network', 'macnet', '--mac-address', '02-42-ac-11-00-98', 'busybox', 'sleep', '1000']));
  assert.match(await ok(d.berth(['exec', 'mac1', 'ip', 'link', 'show', 'eth0'])), /link\/ether 02:42:ac:11:00:98 /);
  assert.equal(await ok(d.docker(['inspect', '-f', '{{.NetworkSettings.Networks.macnet.MacAddress}}', 'mac1'])), '02:42:ac:11:00:98');
  // An API client before 1.44 sends it in Config.
  const create = await run('curl', [
    '-s',
    '--unix-socket',
    d.socket,
    '-X',
    'POST',
    '-H',
    'Content-Type: application/json',
    '-d',
    JSON.stringify({ Image: 'busybox', Cmd: ['ip', 'link', 'show', 'eth0'], MacAddress: '02:42:ac:11:00:97' }),
    'http://x/v1.41/containers/create',
  ]);
  const id = (JSON.parse(create.stdout) as { Id: string }).Id;
  assert.match(await ok(d.berth(['start', '-a', id])), /link\/ether 02:42:ac:11:00:97 /);
  await ok(d.berth(['rm', id]));
  const cliBad = await d.berth(['run', '--rm', '--mac-address', '02:42:zz', 'busybox', 'true']);
  assert.equal(cliBad.code, 125);
  assert.match(cliBad.stderr, /02:42:zz is not a valid mac address/);
  const hostMode = await d.docker(['run', '--rm', '--network', 'host', '--mac-address', '02:42:ac:11:00:96', 'busybox', 'true']);
  assert.equal(hostMode.code, 125);
  assert.match(hostMode.stderr, /conflicting options: mac-address and the network mode/);
  await ok(d.berth(['rm', '-f', 'mac1']));
  await ok(d.berth(['network', 'rm', 'macnet']));
});

test("--network none has only loopback; host sees the host's interfaces; container: shares a namespace", async () => {
  const none = await ok(d.berth(['run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', 'ls /sys/class/net']));
  assert.equal(none, 'lo');
  const hostIfs = readdirSync('/sys/class/net').sort().join(' ');
  const host = await ok(d.docker(['run', '--rm', '--network', 'host', 'busybox', 'sh', '-c', 'ls /sys/class/net | sort | xargs']));
  assert.equal(host, hostIfs);
  const alphaIp = await ok(d.berth(['inspect', '-f', '{{.NetworkSettings.Networks.front.IPAddress}}', 'alpha']));
  const shared = await ok(
    d.berth(['run', '--rm', '--network', 'container:alpha', 'busybox', 'sh', '-c', 'ip -4 -o addr show eth0; wget -q -O - http://127.0.0.1/']),
  );
  assert.match(shared, new RegExp(`inet ${alphaIp.replace(/\./g, '\\.')}/24`));
  assert.match(shared, /hello from/);
  assert.equal(
    await ok(d.berth(['inspect', '-f', '{{json .NetworkSettings.Networks}}', 'alpha'])).then((s) => Object.keys(JSON.parse(s) as object).join()),
    'front',
  );
});

test('bad input: overlapping subnets, unknown networks, duplicate names, predefined networks', async () => {
  const o = await d.docker(['network', 'create', '--subnet', '10.231.0.128/25', 'overlap']);
  assert.equal(o.code, 1);
  assert.equal(o.stderr.trim(), 'Error response from daemon: Pool overlaps with other one on this address space');
  const dup = await d.berth(['network', 'create', 'front']);
  assert.equal(dup.stderr.trim(), 'Error response from daemon: network with name front already exists');
  const unk = await d.docker(['run', '--rm', '--network', 'nope', 'busybox', 'true']);
  assert.equal(unk.code, 125);
  assert.match(unk.stderr, /network nope not found/);
  assert.doesNotMatch(unk.stderr, /Unable to find image/);
  const ins = await d.berth(['network', 'inspect', 'nope']);
  assert.equal(ins.code, 1);
  assert.equal(ins.stderr.trim(), 'Error response from daemon: network nope not found');
  assert.equal((await d.docker(['network', 'rm', 'nope'])).stderr.split('\n')[0], 'Error response from daemon: network nope not found');
  assert.equal((await d.berth(['network', 'rm', 'bridge'])).stderr.trim(), 'Error response from daemon: bridge is a pre-defined network and cannot be removed');
  const alias = await d.berth(['run', '--rm', '--network-alias', 'x', 'busybox', 'true']);
  assert.match(alias.stderr, /network-scoped alias is supported only for containers in user defined networks/);
  const ip = await d.berth(['run', '--rm', '--network', 'back', '--ip', '10.9.9.9', 'busybox', 'true']);
  assert.notEqual(ip.code, 0);
  assert.match(ip.stderr, /10\.9\.9\.9/);
});

test('FORWARD policy DROP (as dockerd sets it): containers still reach out, masqueraded, through our chain', async () => {
  // An "outside" host: a namespace this test makes, behind a veth, running busybox httpd.
  const ns = `bt${process.pid}`;
  const sh = (cmd: string) => run('sh', ['-c', cmd]);
  const policy = /-P FORWARD (\w+)/.exec((await run('iptables', ['-w', '-S', 'FORWARD'])).stdout)?.[1] ?? 'ACCEPT';
  try {
    await ok(
      sh(
        `ip netns add ${ns} && ip link add ${ns}h type veth peer name ${ns}c && ip link set ${ns}c netns ${ns} && ip addr add 10.233.0.1/24 dev ${ns}h && ip link set ${ns}h up && ip netns exec ${ns} sh -c 'ip addr add 10.233.0.2/24 dev ${ns}c && ip link set ${ns}c up && ip link set lo up && ip route add default via 10.233.0.1'`,
      ),
    );
    await ok(sh(`mkdir -p /tmp/${ns}www && echo outside > /tmp/${ns}www/index.html && (ip netns exec ${ns} busybox httpd -p 80 -h /tmp/${ns}www &)`));
    await ok(run('iptables', ['-w', '-P', 'FORWARD', 'DROP']));
    const out = await d.berth(['run', '--rm', 'busybox', 'timeout', '10', 'wget', '-q', '-O', '-', 'http://10.233.0.2/']);
    assert.equal(out.stdout, 'outside\n', out.stderr);
    const fromUser = await d.berth(['run', '--rm', '--network', 'back', 'busybox', 'timeout', '10', 'wget', '-q', '-O', '-', 'http://10.233.0.2/']);
    assert.equal(fromUser.stdout, 'outside\n', fromUser.stderr);
    // An internal network gets nowhere
    await ok(d.berth(['network', 'create', '--internal', 'sealed']));
    const sealed = await d.berth(['run', '--rm', '--network', 'sealed', 'busybox', 'timeout', '3', 'wget', '-q', '-O', '-', 'http://10.233.0.2/']);
    assert.notEqual(sealed.code, 0);
    await ok(d.berth(['network', 'rm', 'sealed']));
  } finally {
    await run('iptables', ['-w', '-P', 'FORWARD', policy]);
    await sh(`ip netns pids ${ns} | xargs -r kill; ip netns del ${ns}; ip link del ${ns}h; rm -rf /tmp/${ns}www`);
  }
});

test("an exited container's address is free at once for the next one, and its network can go at once", async () => {
  await ok(d.berth(['network', 'create', '--subnet', '10.231.7.0/24', 'quick']));
  // Through the API, as docker-py or compose drive it: no CLI start-up between one container and the next.
  const api = async (method: string, path: string, body?: unknown) => {
    const r = await http(d.socket, method, `/v1.45${path}`, body === undefined ? undefined : JSON.stringify(body));
    assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${r.body}`);
    return r.body ? (JSON.parse(r.body) as Record<string, unknown>) : {};
  };
  const spec = {
    Image: 'busybox',
    Cmd: ['true'],
    HostConfig: { NetworkMode: 'quick' },
    NetworkingConfig: { EndpointsConfig: { quick: { IPAMConfig: { IPv4Address: '10.231.7.50' } } } },
  };
  const netId = await ok(d.berth(['network', 'inspect', '-f', '{{.Id}}', 'quick']));
  const ids: string[] = [];
  for (let i = 0; i < 4; i++) {
    const { Id } = (await api('POST', '/containers/create', spec)) as { Id: string };
    ids.push(Id);
    await api('POST', `/containers/${Id}/start`);
    assert.equal((await api('POST', `/containers/${Id}/wait`)).StatusCode, 0);
    await api('DELETE', `/containers/${Id}`);
  }
  await api('DELETE', '/networks/quick');
  // Torn down before the network went: no runtime state, no lease directory made again by a late DEL.
  assert.deepEqual(
    (await footprint()).state.filter((f) => ids.some((id) => f.startsWith(id))),
    [],
  );
  assert.equal(existsSync(join(d.dataRoot, 'networks', 'ipam', netId)), false);
});

test('nothing leaks after rm and network rm', async () => {
  const bridges = (await ok(d.berth(['network', 'inspect', '-f', '{{.Id}}', 'front', 'back']))).split('\n').map((id) => `br-${id.slice(0, 12)}`);
  for (const br of bridges) assert.ok(readdirSync('/sys/class/net').includes(br), br);
  assert.equal(bridges.length, 2);
  await ok(d.berth(['rm', '-f', 'alpha', 'beta', 'gamma']));
  await ok(d.berth(['network', 'rm', 'front', 'back']));
  const f = await footprint();
  assert.equal(f.veths, 0);
  assert.deepEqual(f.leases, []);
  assert.deepEqual(f.netns, []);
  assert.deepEqual(f.state, []);
  assert.equal(f.portmap, 0);
  // Only the default bridge's own rules remain (per network, not per container)
  const bridgeId = (await ok(d.berth(['network', 'inspect', '-f', '{{.Id}}', 'bridge']))).slice(0, 12);
  assert.ok(f.rules.length > 0);
  assert.deepEqual(
    f.rules.filter((r) => !r.includes(bridgeId)),
    [],
  );
  const links = readdirSync('/sys/class/net');
  for (const br of bridges) assert.ok(!links.includes(br), `bridge ${br} left behind`);
  // network prune removes unused networks only
  await ok(d.berth(['network', 'create', 'unused1']));
  await ok(d.berth(['network', 'create', 'used1']));
  await ok(d.berth(['run', '-d', '--name', 'user1', '--network', 'used1', 'busybox', 'sleep', '100']));
  assert.equal(await ok(d.berth(['network', 'prune', '-f'])), 'Deleted Networks:\nunused1');
  await ok(d.berth(['rm', '-f', 'user1']));
  await ok(d.berth(['network', 'rm', 'used1']));
});

test('kill -9 of berthd: containers keep their networking; restart reconciles and nothing leaks', async () => {
  await ok(d.berth(['network', 'create', 'crash']));
  const p = port();
  await ok(d.berth(['run', '-d', '--name', 'survivor', '--network', 'crash', '-p', `127.0.0.1:${p}:80`, 'busybox', ...HTTPD]));
  await ok(d.berth(['run', '-d', '--name', 'peer', '--network', 'crash', 'busybox', 'sleep', '1000']));
  await ok(d.berth(['run', '-d', '--name', 'shortlived', '--network', 'crash', '-p', `${port()}:80`, 'busybox', 'sleep', '3']));
  const shortId = await ok(d.berth(['inspect', '-f', '{{.Id}}', 'shortlived']));
  const shortPid = Number(await ok(d.berth(['inspect', '-f', '{{.State.Pid}}', 'shortlived'])));
  assert.match((await httpGet('127.0.0.1', p)) ?? '', /^hello from/);
  await d.kill9();
  // Down: the published port still answers (kernel NAT, not berthd)
  assert.match((await httpGet('127.0.0.1', p)) ?? '', /^hello from/);
  for (let i = 0; i < 100 && existsSync(`/proc/${shortPid}`); i++) await sleep(100);
  await d.start();
  assert.match((await httpGet('127.0.0.1', p)) ?? '', /^hello from/);
  assert.match(await ok(d.berth(['exec', 'peer', 'timeout', '5', 'wget', '-q', '-O', '-', 'http://survivor/'])), /^hello from/);
  // The container that exited while berthd was down: torn down on restart
  const end = Date.now() + 15_000;
  while (Date.now() < end && existsSync(join(d.execRoot, 'network', `${shortId}.json`))) await sleep(100);
  const f = await footprint();
  assert.ok(!f.netns.includes(shortId));
  assert.ok(
    !f.leases.some((l) =>
      readFileSync(
        join(d.dataRoot, 'networks', 'ipam', readdirSync(join(d.dataRoot, 'networks', 'ipam')).find((n) => n.startsWith(l.split('/')[0]!))!, l.split('/')[1]!),
        'utf8',
      ).startsWith(shortId),
    ),
  );
  assert.equal(f.veths, 2);
  await ok(d.berth(['rm', '-f', 'survivor', 'peer', 'shortlived']));
  await ok(d.berth(['network', 'rm', 'crash']));
  const g = await footprint();
  assert.equal(g.veths, 0);
  assert.deepEqual(g.leases, []);
  assert.deepEqual(g.netns, []);
  assert.deepEqual(g.state, []);
  assert.equal(g.portmap, 0);
  assert.equal(await httpGet('127.0.0.1', p, 1000), undefined);
});
