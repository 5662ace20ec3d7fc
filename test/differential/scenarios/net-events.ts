/**
 * Network and volume events: what `docker run --rm` emits on the default
 * bridge and on a user network (attach, network connect at start, network
 * disconnect at exit), explicit connect/disconnect, network and volume
 * create/destroy — read back with GET /events between since and until, whole
 * and through filters. Names start with `netv-ev`.
 */
import { scenario, type Side } from '../harness.js';

interface Ev {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: string;
  time: number;
  timeNano: number;
}

/** The daemon's clock, as a `since`/`until` value (seconds.nanoseconds). */
async function now(s: Side): Promise<string> {
  const t = (await s.api('GET', '/info')).json as { SystemTime: string };
  const ms = Date.parse(t.SystemTime);
  return (ms / 1000).toFixed(3);
}

/** Events as a readable line each: type, action, and who (names, not IDs, which differ per side). */
function lines(j: unknown): string[] {
  const evs = (Array.isArray(j) ? j : j ? [j] : []) as Ev[];
  const names = new Map<string, string>();
  for (const e of evs) if (e.Actor.Attributes?.name) names.set(e.Actor.ID, e.Actor.Attributes.name);
  return evs.map((e) => {
    const a = e.Actor.Attributes ?? {};
    if (e.Type === 'network')
      return `network ${e.Action} ${a.name ?? ''} type=${a.type ?? ''}${a.container ? ` container=${names.get(a.container) ?? '?'}` : ''}`;
    if (e.Type === 'volume')
      return `volume ${e.Action} ${a.driver ?? ''}${a.container ? ` container=${names.get(a.container) ?? '?'}` : ''}${a.destination ? ` destination=${a.destination}` : ''}`;
    if (e.Type === 'container') return `container ${e.Action} ${a.name ?? ''}`;
    return `${e.Type} ${e.Action}`;
  });
}

scenario({
  endpoints: ['GET /events'],
  name: 'events: run --rm on the default bridge and a user network, connect, disconnect, volumes',
  async run(s, rec) {
    const since = await now(s);
    const f = (x: unknown) => encodeURIComponent(JSON.stringify(x));
    try {
      rec.cli('docker run --rm (bridge)', await s.docker(['run', '--rm', '--name', 'netv-ev-a', 'busybox', 'true']));
      await s.api('POST', '/networks/create', { body: { Name: 'netv-ev', CheckDuplicate: true } });
      rec.cli('docker run --rm (user network)', await s.docker(['run', '--rm', '--name', 'netv-ev-b', '--network', 'netv-ev', 'busybox', 'true']));
      rec.cli('docker run -d', await s.docker(['run', '-d', '--name', 'netv-ev-c', 'busybox', 'sleep', '300']));
      await s.api('POST', '/networks/netv-ev/connect', { body: { Container: 'netv-ev-c' } });
      await s.api('POST', '/networks/netv-ev/disconnect', { body: { Container: 'netv-ev-c' } });
      await s.api('POST', '/containers/netv-ev-c/kill');
      await s.api('POST', '/containers/netv-ev-c/wait');
      await s.api('DELETE', '/containers/netv-ev-c');
      await s.api('POST', '/volumes/create', { body: { Name: 'netv-ev-vol' } });
      await s.api('DELETE', '/volumes/netv-ev-vol');
      await s.api('DELETE', '/networks/netv-ev');
      const until = await now(s);
      const all = await s.api('GET', `/events?since=${since}&until=${until}`, { timeoutMs: 10_000 });
      rec.answer('events', all, { ignoreBody: true });
      rec.exact('sequence', lines(all.json));
      rec.shape(
        'network event',
        ([all.json].flat() as Ev[]).find((e) => e.Type === 'network' && e.Action === 'connect'),
      );
      rec.shape(
        'volume event',
        ([all.json].flat() as Ev[]).find((e) => e.Type === 'volume'),
      );
      for (const [label, filt] of [
        ['type=network', { type: ['network'] }],
        ['network=netv-ev', { network: ['netv-ev'] }],
        ['event=connect', { event: ['connect', 'disconnect'] }],
        ['type=volume', { type: ['volume'] }],
        ['volume=netv-ev-vol', { volume: ['netv-ev-vol'] }],
        ['container=netv-ev-c', { container: ['netv-ev-c'] }],
        ['type=container,event=attach', { type: ['container'], event: ['attach'] }],
      ] as const) {
        const a = await s.api('GET', `/events?since=${since}&until=${until}&filters=${f(filt)}`, { timeoutMs: 10_000 });
        rec.exact(label, lines(a.json));
      }
      rec.answer('bad filter', await s.api('GET', `/events?since=${since}&until=${until}&filters=${f({ nope: ['x'] })}`, { timeoutMs: 10_000 }));
      rec.cli(
        'docker events',
        await s.docker([
          'events',
          '--since',
          since,
          '--until',
          until,
          '--filter',
          'type=network',
          '--format',
          '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}',
        ]),
      );
    } finally {
      await s.api('DELETE', '/containers/netv-ev-c?force=1');
      await s.api('DELETE', '/volumes/netv-ev-vol');
      await s.api('DELETE', '/networks/netv-ev');
    }
  },
  allow: [{ at: /\.Actor\.Attributes\.execDuration$/, why: 'die events carry execDuration, as dockerd 23+ does; 20.10 had no such attribute' }],
});
