/**
 * What one API client's networks may do to the host and to other networks:
 * a bridge name that is a host interface is refused (an existing Linux
 * bridge is adopted, as dockerd does, and outlives the network); only the
 * bridges Berth made are ever deleted, across restarts and for the default
 * network's daemon.json `bridge`; and each network's embedded DNS answers
 * only its own containers. The host interfaces used are a veth pair and
 * bridges this suite makes (never the host's own); traffic stays between
 * this suite's containers and the host's bridges.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Daemon, startDaemon, importBusybox, tempDir, http, run } from '../helpers.js';

let d: Daemon;
const TAG = randomBytes(3).toString('hex');
/** Host links this suite made, deleted after it whatever happened. */
const made: string[] = [];

before(async () => {
  d = await startDaemon();
  await importBusybox(d);
});
after(async () => {
  await d.removeContainers();
  for (const n of (await d.berth(['network', 'ls', '--filter', 'type=custom', '-q'])).stdout.trim().split('\n').filter(Boolean))
    await d.berth(['network', 'rm', n]);
  await d.cleanup();
  for (const l of made) await run('ip', ['link', 'del', l]);
});

async function ok(p: Promise<{ code: number; stdout: string; stderr: string }>): Promise<string> {
  const r = await p;
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

/** A veth pair standing in for a host interface (an uplink, a VPN): not a bridge. */
async function hostInterface(name: string): Promise<string> {
  await ok(run('ip', ['link', 'add', name, 'type', 'veth', 'peer', 'name', `${name}p`]));
  made.push(name);
  return name;
}

async function hostBridge(name: string): Promise<string> {
  await ok(run('ip', ['link', 'add', name, 'type', 'bridge']));
  made.push(name);
  return name;
}

/** What the host has of a link: its kind and addresses, or undefined when there is none. */
async function link(name: string): Promise<{ kind: string; addrs: string[]; master?: string } | undefined> {
  const r = await run('ip', ['-j', '-d', 'addr', 'show', 'dev', name]);
  if (r.code !== 0) return undefined;
  const [l] = JSON.parse(r.stdout) as Array<{ linkinfo?: { info_kind?: string }; addr_info: Array<{ family: string; local: string }>; master?: string }>;
  return { kind: l!.linkinfo?.info_kind ?? '', addrs: l!.addr_info.filter((a) => a.family === 'inet').map((a) => a.local), master: l!.master };
}

/** Every iptables rule (filter and nat) that names `iface`. */
async function rulesNaming(iface: string): Promise<string[]> {
  const out: string[] = [];
  for (const t of ['filter', 'nat']) {
    out.push(...(await run('iptables', ['-w', '-t', t, '-S'])).stdout.split('\n').filter((l) => l.split(/\s+/).includes(iface)));
  }
  return out;
}

test("a bridge name that is a host interface (not a bridge) is refused in dockerd's words; the interface is left as it was", async () => {
  const veth = await hostInterface(`btv${TAG}`);
  const before = await link(veth);
  const r = await d.berth(['network', 'create', '-o', `com.docker.network.bridge.name=${veth}`, 'uplink']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim(), `Error response from daemon: existing interface ${veth} is not a bridge`);
  const api = await http(d.socket, 'POST', '/networks/create', JSON.stringify({ Name: 'uplink2', Options: { 'com.docker.network.bridge.name': veth } }));
  assert.equal(api.status, 500);
  assert.deepEqual(JSON.parse(api.body), { message: `existing interface ${veth} is not a bridge` });
  const cli = await d.docker(['network', 'create', '-o', `com.docker.network.bridge.name=${veth}`, 'uplink3']);
  assert.equal(cli.stderr.trim(), `Error response from daemon: existing interface ${veth} is not a bridge`);
  assert.equal(await ok(d.berth(['network', 'ls', '--filter', 'type=custom', '-q'])), '');
  assert.deepEqual(await link(veth), before);
  assert.deepEqual(await rulesNaming(veth), []);
});

test('an existing Linux bridge is adopted, as dockerd does: it carries containers, and network rm leaves it (and no rules) behind', async () => {
  const br = await hostBridge(`btb${TAG}`);
  await ok(d.berth(['network', 'create', '-o', `com.docker.network.bridge.name=${br}`, 'adopted']));
  const gw = await ok(d.berth(['network', 'inspect', '-f', '{{range .IPAM.Config}}{{.Gateway}}{{end}}', 'adopted']));
  assert.match(await ok(d.berth(['run', '--rm', '--network', 'adopted', 'busybox', 'ping', '-c', '1', '-W', '5', gw])), /1 packets received/);
  assert.ok((await rulesNaming(br)).length > 0, 'the network has its rules while it exists');
  await ok(d.berth(['network', 'rm', 'adopted']));
  assert.equal((await link(br))?.kind, 'bridge', "the host's bridge is still there");
  assert.deepEqual(await rulesNaming(br), []);
});

test('a bridge Berth makes is deleted with its network, also after a restart; an adopted one is not', async () => {
  const mine = `btm${TAG}`;
  await ok(d.berth(['network', 'create', '-o', `com.docker.network.bridge.name=${mine}`, 'mine']));
  assert.equal((await link(mine))?.kind, 'bridge', 'made at create, so the name is taken before anyone else takes it');
  const theirs = await hostBridge(`btt${TAG}`);
  await ok(d.berth(['network', 'create', '-o', `com.docker.network.bridge.name=${theirs}`, 'theirs']));
  // Two networks cannot share a bridge, in dockerd's words.
  const same = await d.berth(['network', 'create', '-o', `com.docker.network.bridge.name=${theirs}`, 'theirs2']);
  assert.match(
    same.stderr.trim(),
    new RegExp(
      `^Error response from daemon: cannot create network [0-9a-f]{64} \\(${theirs}\\): conflicts with network [0-9a-f]{64} \\(${theirs}\\): networks have same bridge name$`,
    ),
  );
  await d.stop();
  await d.start();
  await ok(d.berth(['network', 'rm', 'mine', 'theirs']));
  assert.equal(await link(mine), undefined);
  assert.equal((await link(theirs))?.kind, 'bridge');
  assert.deepEqual(await rulesNaming(mine), []);
  assert.deepEqual(await rulesNaming(theirs), []);
});

test('daemon.json `bridge`: an existing bridge is used and never deleted; a host interface that is not a bridge stops berthd', async () => {
  const br = await hostBridge(`btd${TAG}`);
  const dir = tempDir();
  const config = (bip: string) => writeFileSync(join(dir, 'daemon.json'), JSON.stringify({ bridge: br, bip }) + '\n');
  config('10.213.0.1/24');
  const other = new Daemon(dir);
  try {
    await other.start();
    await importBusybox(other);
    assert.match(await ok(other.berth(['run', '--rm', 'busybox', 'ip', '-4', '-o', 'addr', 'show', 'eth0'])), /inet 10\.213\.0\.\d+\/24/);
    // A new bip: dockerd would never delete the bridge it was told to use, nor may we.
    await other.stop();
    config('10.214.0.1/24');
    await other.start();
    assert.equal((await link(br))?.kind, 'bridge');
    assert.match(await ok(other.berth(['run', '--rm', 'busybox', 'ip', '-4', '-o', 'addr', 'show', 'eth0'])), /inet 10\.214\.0\.\d+\/24/);
    await other.stop();
    assert.equal((await link(br))?.kind, 'bridge');
    // A host interface as the default bridge: berthd refuses to start, as dockerd does, and touches nothing.
    const veth = await hostInterface(`btu${TAG}`);
    writeFileSync(join(dir, 'daemon.json'), JSON.stringify({ bridge: veth }) + '\n');
    await assert.rejects(other.start(), new RegExp(`existing interface ${veth} is not a bridge`));
    assert.equal((await link(veth))?.kind, 'veth');
    assert.deepEqual(await rulesNaming(veth), []);
  } finally {
    await other.cleanup();
  }
});

test("embedded DNS: a container asking another network's gateway gets no answer; its own gateway answers; a container on both asks each", async () => {
  await ok(d.berth(['network', 'create', 'tenant-a']));
  await ok(d.berth(['network', 'create', 'tenant-b']));
  const gw = async (n: string) => ok(d.berth(['network', 'inspect', '-f', '{{range .IPAM.Config}}{{.Gateway}}{{end}}', n]));
  const gwA = await gw('tenant-a');
  const gwB = await gw('tenant-b');
  await ok(d.berth(['run', '-d', '--name', 'a1', '--network', 'tenant-a', 'busybox', 'sleep', '1000']));
  await ok(d.docker(['run', '-d', '--name', 'b1', '--network', 'tenant-b', '--network-alias', 'b-secret', 'busybox', 'sleep', '1000']));
  const ipOn = (c: string, n: string) => ok(d.berth(['inspect', '-f', `{{(index .NetworkSettings.Networks "${n}").IPAddress}}`, c]));
  const a1 = await ipOn('a1', 'tenant-a');
  const b1 = await ipOn('b1', 'tenant-b');
  const lookup = (c: string, name: string, server: string) => d.berth(['exec', c, 'timeout', '15', 'nslookup', name, server]);

  // Its own gateway answers.
  assert.match((await lookup('a1', 'a1', gwA)).stdout, new RegExp(`Address: ${a1.replace(/\./g, '\\.')}$`, 'm'));
  // Network B's gateway is routable from A, but its resolver is not there for A.
  for (const name of ['b1', 'b-secret']) {
    const r = await lookup('a1', name, gwB);
    assert.notEqual(r.code, 0);
    assert.doesNotMatch(r.stdout, new RegExp(b1.replace(/\./g, '\\.')));
    assert.doesNotMatch(r.stdout, /^Name:/m);
  }

  // On both networks: each gateway answers for its own network's names.
  await ok(d.berth(['run', '-d', '--name', 'ab', '--network', 'tenant-a', 'busybox', 'sleep', '1000']));
  await ok(d.docker(['network', 'connect', 'tenant-b', 'ab']));
  assert.match((await lookup('ab', 'a1', gwA)).stdout, new RegExp(`Address: ${a1.replace(/\./g, '\\.')}$`, 'm'));
  assert.match((await lookup('ab', 'b1', gwB)).stdout, new RegExp(`Address: ${b1.replace(/\./g, '\\.')}$`, 'm'));
  assert.match((await lookup('ab', 'b-secret', gwB)).stdout, new RegExp(`Address: ${b1.replace(/\./g, '\\.')}$`, 'm'));
  // And its resolv.conf server (the first network's gateway) finds names on both, as Docker's does.
  assert.match(await ok(d.berth(['exec', 'ab', 'ping', '-c', '1', '-W', '5', 'b1'])), /1 packets received/);

  await ok(d.berth(['rm', '-f', 'a1', 'b1', 'ab']));
  await ok(d.berth(['network', 'rm', 'tenant-a', 'tenant-b']));
});
