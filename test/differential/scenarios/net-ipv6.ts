/**
 * IPv6: a network made with --ipv6 and a v6 subnet gives its containers v6
 * addresses (EnableIPv6, GlobalIPv6Address); published ports are bound on
 * [::] as well as 0.0.0.0, and answer through ::1. Traffic goes only to
 * loopback and the scenario's own containers. The v6 subnets differ per side
 * (fd02:ab:d:: on dockerd, fd02:ab:b:: on berthd): both daemons' bridges are
 * on this one host.
 */
import { connect } from 'node:net';
import { scenario, type Side } from '../harness.js';

const prefix = (s: Side) => (s.name === 'dockerd' ? 'fd02:ab:d:' : 'fd02:ab:b:');
const v6subnet = (s: Side) => `${prefix(s)}:/64`;
/** Side-specific v6 prefixes made generic. */
const generic = (s: Side, v: unknown) => JSON.parse(JSON.stringify(v ?? null).replaceAll(prefix(s), 'fd02:ab:X:'));

/** One HTTP/1.0 GET through `host`:`port`; the status line, or the error. */
function get(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    let out = '';
    const t = setTimeout(() => {
      sock.destroy();
      resolve(`timeout (${out.split('\r\n')[0]})`);
    }, 5000);
    sock.on('connect', () => sock.write('GET /index.html HTTP/1.0\r\n\r\n'));
    sock.on('data', (b) => {
      out += b.toString();
    });
    sock.on('error', (e) => {
      clearTimeout(t);
      resolve(`error ${(e as NodeJS.ErrnoException).code}`);
    });
    sock.on('close', () => {
      clearTimeout(t);
      resolve(`${out.split('\r\n')[0]} | ${out.split('\r\n\r\n')[1] ?? ''}`.trim());
    });
  });
}

scenario({
  endpoints: ['POST /networks/create', 'GET /networks/{id}'],
  name: 'IPv6 network: EnableIPv6, v6 addresses for containers',
  async run(s, rec) {
    try {
      rec.cli('docker network create --ipv6', await s.docker(['network', 'create', '--ipv6', '--subnet', v6subnet(s), 'netv-v6']));
      const n = (await s.api('GET', '/networks/netv-v6')).json as { EnableIPv6: boolean; IPAM: { Config: Array<{ Subnet?: string; Gateway?: string }> } };
      rec.exact('EnableIPv6', n.EnableIPv6);
      rec.exact(
        'IPAM configs',
        generic(
          s,
          n.IPAM.Config.map((c) => ({ keys: Object.keys(c).sort(), v6: c.Subnet?.includes(':') ? c.Subnet : 'v4' })),
        ),
      );
      rec.cli('run', await s.docker(['run', '-d', '--name', 'netv-v6-c', '--network', 'netv-v6', 'busybox', 'sleep', '300']));
      const i = (await s.api('GET', '/containers/netv-v6-c/json')).json as { NetworkSettings: { Networks: Record<string, Record<string, unknown>> } };
      const ep = i.NetworkSettings.Networks['netv-v6']!;
      rec.exact(
        'endpoint',
        generic(s, {
          GlobalIPv6Address: String(ep.GlobalIPv6Address).replace(/::[0-9a-f]+$/, '::<host>'),
          GlobalIPv6PrefixLen: ep.GlobalIPv6PrefixLen,
          IPv6Gateway: ep.IPv6Gateway,
        }),
      );
      const nc = (await s.api('GET', '/networks/netv-v6')).json as { Containers: Record<string, { IPv6Address: string }> };
      rec.exact(
        'network containers',
        generic(
          s,
          Object.values(nc.Containers).map((c) => c.IPv6Address.replace(/::[0-9a-f]+\//, '::<host>/')),
        ),
      );
      rec.cli('global v6 address inside', await s.docker(['exec', 'netv-v6-c', 'sh', '-c', 'ip -6 -o addr show dev eth0 scope global | wc -l']));
      rec.cli(
        'docker inspect GlobalIPv6PrefixLen',
        await s.docker(['inspect', '--format', '{{range .NetworkSettings.Networks}}{{.GlobalIPv6PrefixLen}}{{end}}', 'netv-v6-c']),
      );
      rec.answer('ipv6 without subnet', await s.api('POST', '/networks/create', { body: { Name: 'netv-v6-b', CheckDuplicate: true, EnableIPv6: true } }));
      rec.answer(
        'overlapping v6 subnet',
        await s.api('POST', '/networks/create', {
          body: { Name: 'netv-v6-b', CheckDuplicate: true, EnableIPv6: true, IPAM: { Config: [{ Subnet: `${prefix(s)}:/80` }] } },
        }),
      );
    } finally {
      await s.api('DELETE', '/containers/netv-v6-c?force=1');
      await s.api('DELETE', '/networks/netv-v6');
      await s.api('DELETE', '/networks/netv-v6-b');
    }
  },
});

scenario({
  endpoints: ['POST /containers/{id}/start', 'GET /containers/{id}/json'],
  name: 'published ports bind 0.0.0.0 and [::]',
  async run(s, rec) {
    try {
      rec.cli(
        'run -p',
        await s.docker(['run', '-d', '--name', 'netv-v6-p', '-p', '80', 'busybox', 'sh', '-c', 'echo hello > /tmp/index.html && exec httpd -f -p 80 -h /tmp']),
      );
      const i = (await s.api('GET', '/containers/netv-v6-p/json')).json as {
        NetworkSettings: { Ports: Record<string, Array<{ HostIp: string; HostPort: string }> | null> };
      };
      const b = i.NetworkSettings.Ports['80/tcp'] ?? [];
      const port = Number(b[0]?.HostPort);
      rec.exact(
        'bindings',
        b.map((x) => ({ HostIp: x.HostIp, samePort: Number(x.HostPort) === port })),
      );
      const dp = await s.docker(['port', 'netv-v6-p']);
      rec.cli('docker port', { ...dp, stdout: dp.stdout.replaceAll(`:${port}`, ':<port>') });
      const ps = await s.docker(['ps', '--filter', 'name=netv-v6-p', '--format', '{{.Ports}}']);
      rec.cli('docker ps ports', { ...ps, stdout: ps.stdout.replaceAll(`:${port}`, ':<port>') });
      rec.exact('through 127.0.0.1', await get('127.0.0.1', port));
      rec.exact('through ::1', await get('::1', port));
    } finally {
      await s.api('DELETE', '/containers/netv-v6-p?force=1');
    }
  },
});
