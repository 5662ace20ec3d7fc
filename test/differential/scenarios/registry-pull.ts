/**
 * Pull (POST /images/create?fromImage=…) from a local registry: the progress
 * stream's messages and final status lines, by tag, by digest, every tag;
 * what a pull stores (tags, digests, history); the errors for a missing tag,
 * a missing repository, an unreachable registry and credentials; and
 * `docker pull`'s output. Image names are under rg/ on the local registries.
 */
import { scenario, type Recorder, type Side } from '../harness.js';
import {
  registries,
  fix,
  fixCli,
  streamSummary,
  messageShapes,
  cliLines,
  authHeader,
  removeRegistryImages,
  AUTH_USER,
  AUTH_PASS,
  type LocalRegistries,
} from './registry-local.js';

const enc = encodeURIComponent;

async function pullRec(s: Side, r: LocalRegistries, rec: Recorder, label: string, query: string, headers?: Record<string, string>): Promise<void> {
  const a = fix(await s.api('POST', `/images/create?${query}`, { headers }), r);
  rec.answer(label, a, { ignoreBody: a.status < 400 });
  if (a.status < 400) {
    rec.exact(`${label} stream`, streamSummary(a));
    rec.exact(`${label} messages`, messageShapes(a));
  }
}

scenario({
  endpoints: ['POST /images/create', 'GET /images/{name}/history'],
  name: 'registry: pull by tag, again, by digest, every tag; what the pull stored',
  async run(s, rec) {
    const r = await registries(s);
    const name = `${r.plain}/rg/seed`;
    await pullRec(s, r, rec, 'pull by tag', `fromImage=${enc(name)}&tag=1`);
    await pullRec(s, r, rec, 'pull again', `fromImage=${enc(name)}&tag=1`);
    await pullRec(s, r, rec, 'pull tag in name', `fromImage=${enc(name + ':1')}`);
    await pullRec(s, r, rec, 'pull by digest', `fromImage=${enc(`${name}@${r.seedDigest}`)}`);
    await pullRec(s, r, rec, 'pull digest as tag', `fromImage=${enc(name)}&tag=${enc(r.seedDigest)}`);
    await pullRec(s, r, rec, 'pull every tag', `fromImage=${enc(name)}`);
    const i = fix(await s.api('GET', `/images/${name}:1/json`), r);
    rec.answer('inspect', i);
    const j = i.json as Record<string, unknown>;
    rec.exact('inspect fields', {
      RepoTags: j.RepoTags,
      RepoDigests: j.RepoDigests,
      Config: j.Config,
      Os: j.Os,
      Architecture: j.Architecture,
      Created: j.Created,
      Layers: (j.RootFS as { Layers: unknown[] }).Layers,
    });
    const h = fix(await s.api('GET', `/images/${name}:1/history`), r);
    rec.answer('history', h);
    rec.exact('history rows', h.json);
    rec.cli('docker history', fixCli(await s.docker(['history', '--no-trunc', '--format', '{{.ID}}|{{.CreatedBy}}|{{.Size}}|{{.Comment}}', `${name}:1`]), r));
    rec.cli('docker images', fixCli(await s.docker(['images', '--digests', '--format', '{{.Repository}}|{{.Tag}}|{{.Digest}}', `${name}`]), r));
    await removeRegistryImages(s);
  },
});

scenario({
  endpoints: ['POST /images/create'],
  name: 'registry: pull from an index, by platform; a platform the image lacks',
  async run(s, rec) {
    const r = await registries(s);
    const name = `${r.plain}/rg/multi`;
    await pullRec(s, r, rec, 'pull index', `fromImage=${enc(name)}&tag=1`);
    rec.exact('arch', ((await s.api('GET', `/images/${name}:1/json`)).json as { Architecture?: string }).Architecture);
    await pullRec(s, r, rec, 'pull arm64', `fromImage=${enc(name)}&tag=1&platform=linux%2Farm64`);
    rec.exact('arch arm64', ((await s.api('GET', `/images/${name}:1/json`)).json as { Architecture?: string }).Architecture);
    await pullRec(s, r, rec, 'pull missing platform', `fromImage=${enc(name)}&tag=1&platform=linux%2Fs390x`);
    await pullRec(s, r, rec, 'pull single manifest, other platform', `fromImage=${enc(`${r.plain}/rg/seed`)}&tag=1&platform=linux%2Farm64`);
    await pullRec(s, r, rec, 'pull bad platform', `fromImage=${enc(name)}&tag=1&platform=nope%2Fnope%2Fnope%2Fnope`);
    await removeRegistryImages(s);
  },
});

scenario({
  endpoints: ['POST /images/create'],
  name: 'registry: pull errors — missing tag, missing repository, unreachable registry, bad names',
  async run(s, rec) {
    const r = await registries(s);
    await pullRec(s, r, rec, 'missing tag', `fromImage=${enc(`${r.plain}/rg/seed`)}&tag=nope`);
    await pullRec(s, r, rec, 'missing digest', `fromImage=${enc(`${r.plain}/rg/seed@sha256:${'0'.repeat(64)}`)}`);
    await pullRec(s, r, rec, 'missing repo', `fromImage=${enc(`${r.plain}/rg/nothing`)}&tag=1`);
    await pullRec(s, r, rec, 'missing repo every tag', `fromImage=${enc(`${r.plain}/rg/nothing`)}`);
    await pullRec(s, r, rec, 'unreachable', `fromImage=${enc('127.0.0.1:1/rg/seed')}&tag=1`);
    await pullRec(s, r, rec, 'bad name', `fromImage=${enc(`${r.plain}/RG/Busybox`)}&tag=1`);
    await pullRec(s, r, rec, 'bad tag', `fromImage=${enc(`${r.plain}/rg/seed`)}&tag=${enc('a/b')}`);
    rec.cli('docker pull missing tag', fixCli(await s.docker(['pull', `${r.plain}/rg/seed:nope`]), r));
    rec.cli('docker pull missing repo', fixCli(await s.docker(['pull', `${r.plain}/rg/nothing:1`]), r));
  },
});

scenario({
  endpoints: ['POST /images/create'],
  name: 'registry: pull from a registry with auth — none, wrong, right credentials',
  async run(s, rec) {
    const r = await registries(s);
    const name = `${r.auth}/rg/seed`;
    await pullRec(s, r, rec, 'no credentials', `fromImage=${enc(name)}&tag=1`);
    await pullRec(s, r, rec, 'wrong password', `fromImage=${enc(name)}&tag=1`, authHeader(AUTH_USER, 'wrong', r.auth));
    await pullRec(s, r, rec, 'no credentials, by digest', `fromImage=${enc(`${name}@${r.seedDigest}`)}`);
    await pullRec(s, r, rec, 'right password', `fromImage=${enc(name)}&tag=1`, authHeader(AUTH_USER, AUTH_PASS, r.auth));
    await removeRegistryImages(s);
  },
});

scenario({
  endpoints: ['POST /images/create'],
  name: 'registry: docker pull output',
  async run(s, rec) {
    const r = await registries(s);
    const name = `${r.plain}/rg/seed`;
    rec.cli('docker pull', cliLines(fixCli(await s.docker(['pull', `${name}:1`]), r)));
    rec.cli('docker pull again', cliLines(fixCli(await s.docker(['pull', `${name}:1`]), r)));
    rec.cli('docker pull -q', fixCli(await s.docker(['pull', '-q', `${name}@${r.seedDigest}`]), r));
    rec.cli('docker pull -a', cliLines(fixCli(await s.docker(['pull', '-a', name]), r)));
    await removeRegistryImages(s);
  },
});
