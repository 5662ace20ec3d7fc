/**
 * DNS on a user network: --dns keeps the embedded resolver in resolv.conf
 * (it forwards what it does not know to the servers given), so container
 * names still resolve; --dns-search and --dns-option land as dockerd writes
 * them. Only names of the scenario's own containers are looked up: nothing
 * goes to the (made-up) servers given with --dns.
 */
import { scenario } from '../harness.js';

scenario({
  endpoints: ['POST /containers/create', 'POST /containers/{id}/start'],
  name: '--dns on a user network keeps the embedded resolver',
  async run(s, rec) {
    const fake = s.name === 'dockerd' ? '10.197.250.250' : '10.198.250.250';
    try {
      await s.api('POST', '/networks/create', { body: { Name: 'netv-dns', CheckDuplicate: true } });
      rec.cli(
        'target',
        await s.docker(['run', '-d', '--name', 'netv-dns-a', '--network', 'netv-dns', '--network-alias', 'netv-dns-alias', 'busybox', 'sleep', '300']),
      );
      rec.cli('with --dns', await s.docker(['run', '-d', '--name', 'netv-dns-b', '--network', 'netv-dns', '--dns', fake, 'busybox', 'sleep', '300']));
      rec.cli(
        'with --dns-search --dns-option',
        await s.docker([
          'run',
          '-d',
          '--name',
          'netv-dns-c',
          '--network',
          'netv-dns',
          '--dns',
          fake,
          '--dns-search',
          'netv.test',
          '--dns-option',
          'timeout:1',
          'busybox',
          'sleep',
          '300',
        ]),
      );
      rec.cli('resolv.conf with --dns', await s.docker(['exec', 'netv-dns-b', 'cat', '/etc/resolv.conf']));
      rec.cli('resolv.conf with --dns-search --dns-option', await s.docker(['exec', 'netv-dns-c', 'cat', '/etc/resolv.conf']));
      rec.cli('name resolves', await s.docker(['exec', 'netv-dns-b', 'sh', '-c', 'ping -c1 -W2 netv-dns-a >/dev/null && echo resolved']));
      rec.cli('alias resolves', await s.docker(['exec', 'netv-dns-b', 'sh', '-c', 'ping -c1 -W2 netv-dns-alias >/dev/null && echo resolved']));
      rec.cli('name resolves with search', await s.docker(['exec', 'netv-dns-c', 'sh', '-c', 'ping -c1 -W2 netv-dns-a >/dev/null && echo resolved']));
      const i = (await s.api('GET', '/containers/netv-dns-b/json')).json as { HostConfig: { Dns: unknown } };
      rec.exact('HostConfig.Dns', i.HostConfig.Dns);
      rec.cli('default bridge with --dns', await s.docker(['run', '--rm', '--dns', fake, 'busybox', 'cat', '/etc/resolv.conf']));
    } finally {
      for (const c of ['netv-dns-a', 'netv-dns-b', 'netv-dns-c']) await s.api('DELETE', `/containers/${c}?force=1`);
      await s.api('DELETE', '/networks/netv-dns');
    }
  },
  allow: [
    {
      at: /^resolv\.conf with --dns-search --dns-option\.stdout$/,
      why: 'Berth writes nameserver, search, options in that order, as dockerd 25+ does (libnetwork resolvconf template); 20.10 put search first here',
    },
  ],
});
