/**
 * Volumes: list (filters), create (named, anonymous, labels, driver options,
 * refusals), inspect, update (cluster volumes only), remove (in use), prune
 * by API version. Names start with `netv-vol`; every prune asks for the
 * `netv.vol` label, since the daemons are shared with other scenarios.
 */
import assert from 'node:assert/strict';
import { scenario, type Side, type Answer } from '../harness.js';
import { FILTER_CASE } from './net.js';

const LABEL = { 'netv.vol': '' };

function names(a: Answer): unknown {
  const v = (a.json as { Volumes?: Array<{ Name: string }> | null })?.Volumes;
  return Array.isArray(v)
    ? v
        .map((x) => x.Name)
        .filter((n) => n.startsWith('netv-vol'))
        .sort()
    : a.json;
}

async function removeVols(s: Side, list: string[]): Promise<void> {
  for (const n of list) await s.api('DELETE', `/volumes/${n}?force=1`);
}

scenario({
  endpoints: ['GET /volumes'],
  name: 'volume list with filters',
  async run(s, rec) {
    await s.api('POST', '/volumes/create', { body: { Name: 'netv-vol-ls-a', Labels: { ...LABEL, 'netv.kind': 'a' } } });
    await s.api('POST', '/volumes/create', { body: { Name: 'netv-vol-ls-b', Labels: { ...LABEL, 'netv.kind': 'b' } } });
    try {
      await s.api('POST', '/containers/create?name=netv-vol-ls-c', {
        body: { Image: 'busybox', Cmd: ['true'], HostConfig: { Binds: ['netv-vol-ls-a:/data'] } },
      });
      const f = (x: unknown) => `/volumes?filters=${encodeURIComponent(JSON.stringify(x))}`;
      const all = await s.api('GET', '/volumes');
      rec.answer('list', all, { ignoreBody: true });
      rec.exact('list names', names(all));
      for (const [label, filt] of [
        ['name', { name: ['netv-vol-ls-a'] }],
        ['label', { label: ['netv.kind'] }],
        ['label=value', { label: ['netv.kind=b'] }],
        ['dangling', { dangling: ['true'], label: ['netv.vol'] }],
        ['not dangling', { dangling: ['false'], label: ['netv.vol'] }],
        ['driver', { driver: ['local'], label: ['netv.vol'] }],
      ] as const) {
        const a = await s.api('GET', f(filt));
        rec.answer(label, a, { ignoreBody: true });
        rec.exact(`${label} names`, names(a));
      }
      const one = (await s.api('GET', f({ name: ['netv-vol-ls-b'] }))).json as { Volumes: unknown[] };
      rec.exact('entry', one.Volumes?.[0]);
      rec.answer('bad filter', await s.api('GET', f({ nope: ['x'] })));
      rec.answer('bad dangling', await s.api('GET', f({ dangling: ['maybe'] })));
      // {{.Labels}} prints a Go map in iteration order, which Go randomises: sort each line's labels.
      const ls = await s.docker(['volume', 'ls', '--filter', 'label=netv.kind', '--format', '{{.Driver}} {{.Name}} {{.Labels}}']);
      rec.cli('docker volume ls --filter', {
        ...ls,
        stdout: ls.stdout
          .split('\n')
          .map((l) => l.replace(/ (\S+)$/, (_m, labels: string) => ' ' + labels.split(',').sort().join(',')))
          .join('\n'),
      });
    } finally {
      await s.api('DELETE', '/containers/netv-vol-ls-c?force=1');
      await removeVols(s, ['netv-vol-ls-a', 'netv-vol-ls-b']);
    }
  },
  allow: [FILTER_CASE],
});

scenario({
  endpoints: ['POST /volumes/create', 'GET /volumes/{name}'],
  name: 'volume create and inspect: named, anonymous, options, refusals',
  async run(s, rec) {
    let anon = '';
    try {
      rec.answer('named', await s.api('POST', '/volumes/create', { body: { Name: 'netv-vol-cr', Labels: { a: 'b' } } }), { exact: true });
      rec.answer('again', await s.api('POST', '/volumes/create', { body: { Name: 'netv-vol-cr' } }), { exact: true });
      rec.answer(
        'with options',
        await s.api('POST', '/volumes/create', { body: { Name: 'netv-vol-opt', DriverOpts: { type: 'tmpfs', device: 'tmpfs', o: 'size=1m' } } }),
        { exact: true },
      );
      const a = await s.api('POST', '/volumes/create', { body: {} });
      rec.answer('anonymous', a);
      anon = (a.json as { Name: string }).Name;
      rec.exact('anonymous name', /^[0-9a-f]{64}$/.test(anon));
      rec.exact('anonymous labels', (a.json as { Labels: unknown }).Labels);
      rec.answer('inspect', await s.api('GET', '/volumes/netv-vol-cr'), { exact: true });
      rec.answer('inspect missing', await s.api('GET', '/volumes/netv-vol-nonesuch'));
      rec.answer('bad driver', await s.api('POST', '/volumes/create', { body: { Name: 'netv-vol-x', Driver: 'netv-bogus' } }));
      rec.answer('bad name', await s.api('POST', '/volumes/create', { body: { Name: 'netv vol!' } }));
      rec.answer('one-letter name', await s.api('POST', '/volumes/create', { body: { Name: 'n' } }));
      rec.answer('bad option', await s.api('POST', '/volumes/create', { body: { Name: 'netv-vol-x', DriverOpts: { bogus: '1' } } }));
      rec.cli('docker volume create', await s.docker(['volume', 'create', '--label', 'x=y', 'netv-vol-cli']));
      rec.cli(
        'docker volume inspect',
        await s.docker(['volume', 'inspect', '--format', '{{.Name}} {{.Driver}} {{.Scope}} {{.Labels}} {{.Options}}', 'netv-vol-cli', 'netv-vol-opt']),
      );
      rec.cli('docker volume inspect missing', await s.docker(['volume', 'inspect', 'netv-vol-nonesuch']));
    } finally {
      await removeVols(s, ['netv-vol-cr', 'netv-vol-opt', 'netv-vol-cli', ...(anon ? [anon] : [])]);
    }
  },
  allow: [
    {
      at: /^anonymous( labels|\.body\.Labels)$/,
      why: 'a volume created without a name is labelled com.docker.volume.anonymous, as dockerd 23+ does (API 1.42 prune takes only those); dockerd 20.10 leaves it unlabelled',
    },
  ],
});

scenario({
  endpoints: ['PUT /volumes/{name}'],
  name: 'volume update outside a swarm',
  async run(s, rec) {
    await s.api('POST', '/volumes/create', { body: { Name: 'netv-vol-up' } });
    try {
      rec.answer('update', await s.api('PUT', '/volumes/netv-vol-up?version=1', { body: { Spec: { Availability: 'active' } } }));
    } finally {
      await removeVols(s, ['netv-vol-up']);
    }
  },
  allow: [
    {
      at: /^update\./,
      why: 'PUT /volumes/{name} came with API 1.42 (cluster volumes): dockerd 20.10 has no such route; Berth answers as dockerd 23+ does outside a swarm (503)',
    },
  ],
});

scenario({
  endpoints: ['PUT /volumes/{name}'],
  name: "volume update at API 1.47 outside a swarm (503, dockerd's words)",
  berthdOnly: 'PUT /volumes/{name} is API 1.42+',
  async run(s) {
    const a = await s.api('PUT', '/volumes/netv-vol-nonesuch?version=1', { version: '1.47', body: { Spec: {} } });
    assert.equal(a.status, 503);
    assert.equal((a.json as { message: string }).message, 'volume update only valid for cluster volumes, but swarm is unavailable');
  },
});

scenario({
  endpoints: ['DELETE /volumes/{name}'],
  name: 'volume remove: in use, missing, force',
  async run(s, rec) {
    await s.api('POST', '/volumes/create', { body: { Name: 'netv-vol-rm' } });
    try {
      await s.api('POST', '/containers/create?name=netv-vol-rm-c', { body: { Image: 'busybox', Cmd: ['true'], HostConfig: { Binds: ['netv-vol-rm:/data'] } } });
      rec.answer('in use', await s.api('DELETE', '/volumes/netv-vol-rm'));
      rec.answer('in use, force', await s.api('DELETE', '/volumes/netv-vol-rm?force=1'));
      rec.cli('docker volume rm in use', await s.docker(['volume', 'rm', 'netv-vol-rm']));
      rec.answer('missing', await s.api('DELETE', '/volumes/netv-vol-nonesuch'));
      rec.answer('missing, force', await s.api('DELETE', '/volumes/netv-vol-nonesuch?force=1'));
      await s.api('DELETE', '/containers/netv-vol-rm-c');
      rec.answer('unused', await s.api('DELETE', '/volumes/netv-vol-rm'));
      rec.answer('gone', await s.api('GET', '/volumes/netv-vol-rm'));
      rec.cli('docker volume rm missing', await s.docker(['volume', 'rm', 'netv-vol-nonesuch']));
    } finally {
      await s.api('DELETE', '/containers/netv-vol-rm-c?force=1');
      await removeVols(s, ['netv-vol-rm']);
    }
  },
});

/** Volumes for a prune: named, anonymous (created without a name), in use, and one with driver options. */
async function pruneSet(s: Side, version?: string): Promise<{ anon: string }> {
  const v = version ? { version } : {};
  await s.api('POST', '/volumes/create', { ...v, body: { Name: 'netv-vol-pr-named', Labels: LABEL } });
  await s.api('POST', '/volumes/create', { ...v, body: { Name: 'netv-vol-pr-used', Labels: LABEL } });
  await s.api('POST', '/volumes/create', { ...v, body: { Name: 'netv-vol-pr-opt', Labels: LABEL, DriverOpts: { type: 'tmpfs', device: 'tmpfs' } } });
  const a = await s.api('POST', '/volumes/create', { ...v, body: { Labels: LABEL } });
  await s.api('POST', '/containers/create?name=netv-vol-pr-c', {
    ...v,
    body: { Image: 'busybox', Cmd: ['true'], HostConfig: { Binds: ['netv-vol-pr-used:/data'] } },
  });
  return { anon: (a.json as { Name: string }).Name };
}

async function pruneTidy(s: Side, anon: string): Promise<void> {
  await s.api('DELETE', '/containers/netv-vol-pr-c?force=1');
  await removeVols(s, ['netv-vol-pr-named', 'netv-vol-pr-used', 'netv-vol-pr-opt', anon]);
}

scenario({
  endpoints: ['POST /volumes/prune'],
  name: 'volume prune at API 1.41: every unused local volume, named too',
  async run(s, rec) {
    const { anon } = await pruneSet(s);
    try {
      const f = (x: unknown) => `/volumes/prune?filters=${encodeURIComponent(JSON.stringify(x))}`;
      const p = await s.api('POST', f({ label: ['netv.vol'] }));
      rec.answer('prune', p);
      const deleted = ((p.json as { VolumesDeleted: string[] | null }).VolumesDeleted ?? []).map((n) => (n === anon ? '<anonymous>' : n)).sort();
      rec.exact('deleted', deleted);
      rec.exact('left', names(await s.api('GET', '/volumes')));
      rec.answer('bad filter', await s.api('POST', f({ nope: ['1'] })));
      rec.cli('docker volume prune', await s.docker(['volume', 'prune', '-f', '--filter', 'label=netv.nothing']));
    } finally {
      await pruneTidy(s, anon);
    }
  },
  allow: [FILTER_CASE],
});

scenario({
  endpoints: ['POST /volumes/prune', 'POST /volumes/create'],
  name: 'volume prune at API 1.42+: anonymous volumes only, all=true for named too',
  berthdOnly: 'volume prune semantics of API 1.42 (moby docs/api/version-history.md: only anonymous volumes unless the all filter is set)',
  async run(s) {
    for (const version of ['1.42', '1.47']) {
      const { anon } = await pruneSet(s, version);
      try {
        const f = (x: unknown) => `/volumes/prune?filters=${encodeURIComponent(JSON.stringify(x))}`;
        const created = (await s.api('GET', `/volumes/${anon}`, { version })).json as { Labels: Record<string, string> };
        assert.deepEqual(created.Labels, { 'com.docker.volume.anonymous': '', 'netv.vol': '' }, 'a volume created without a name is labelled anonymous');
        const p = await s.api('POST', f({ label: ['netv.vol'] }), { version });
        assert.equal(p.status, 200);
        assert.deepEqual((p.json as { VolumesDeleted: string[] }).VolumesDeleted, [anon], `API ${version}: only the anonymous volume goes`);
        const named = await s.api('GET', '/volumes/netv-vol-pr-named', { version });
        assert.equal(named.status, 200, 'the named volume stays');
        const bad = await s.api('POST', f({ label: ['netv.vol'], all: ['maybe'] }), { version });
        assert.equal(bad.status, 400);
        assert.equal((bad.json as { message: string }).message, 'invalid filter \'all\': strconv.ParseBool: parsing "maybe": invalid syntax');
        const all = await s.api('POST', f({ label: ['netv.vol'], all: ['true'] }), { version });
        assert.deepEqual(
          (all.json as { VolumesDeleted: string[] }).VolumesDeleted,
          ['netv-vol-pr-named'],
          'all=true: named unused volumes go too (not the one in use, nor the one with driver options)',
        );
      } finally {
        await pruneTidy(s, anon);
      }
    }
  },
});
