/**
 * Push (POST /images/{name}/push) to a local registry: the stream's messages
 * (Preparing, Pushing, Pushed / Layer already exists, the digest line and
 * the aux message with Tag, Digest and Size), every tag of a repository, an
 * image that is not here, a registry that wants credentials, and `docker
 * push`'s output. Each side pushes its own busybox to its own registry.
 */
import { makeTar } from '../../helpers.js';
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

async function pushRec(s: Side, r: LocalRegistries, rec: Recorder, label: string, path: string, headers?: Record<string, string>): Promise<void> {
  const a = fix(await s.api('POST', path, { headers }), r);
  rec.answer(label, a, { ignoreBody: a.status < 400 });
  if (a.status < 400) {
    rec.exact(`${label} stream`, streamSummary(a));
    rec.exact(`${label} messages`, messageShapes(a));
  }
}

const anon = (r: LocalRegistries) => authHeader('', '', r.plain);

scenario({
  endpoints: ['POST /images/{name}/push'],
  name: 'registry: push a tag, again, every tag; a missing image',
  async run(s, rec) {
    const r = await registries(s);
    const name = `${r.plain}/rg/pushed`;
    await s.api('POST', `/images/busybox:latest/tag?repo=${encodeURIComponent(name)}&tag=1`);
    await pushRec(s, r, rec, 'push', `/images/${name}/push?tag=1`, anon(r));
    await pushRec(s, r, rec, 'push again', `/images/${name}/push?tag=1`, anon(r));
    await pushRec(s, r, rec, 'push tag in name', `/images/${name}:1/push`, anon(r));
    await s.api('POST', `/images/busybox:latest/tag?repo=${encodeURIComponent(name)}&tag=2`);
    await pushRec(s, r, rec, 'push every tag', `/images/${name}/push`, anon(r));
    await pushRec(s, r, rec, 'push missing tag', `/images/${name}/push?tag=nope`, anon(r));
    await pushRec(s, r, rec, 'push missing repo', `/images/${r.plain}/rg/none/push?tag=1`, anon(r));
    await pushRec(s, r, rec, 'push missing repo every tag', `/images/${r.plain}/rg/none/push`, anon(r));
    await pushRec(s, r, rec, 'push without auth header', `/images/${name}/push?tag=1`);
    const i = fix(await s.api('GET', `/images/${name}:1/json`), r);
    rec.exact(
      'RepoDigests after push',
      ((i.json as { RepoDigests?: string[] }).RepoDigests ?? []).map((d) => d.replace(/@sha256:[0-9a-f]{64}$/, '@<digest>')),
    );
    await removeRegistryImages(s);
  },
});

scenario({
  endpoints: ['POST /images/{name}/push'],
  name: 'registry: push to a registry with auth — none, wrong, right credentials; unreachable',
  async run(s, rec) {
    const r = await registries(s);
    const name = `${r.auth}/rg/pushed`;
    await s.api('POST', `/images/busybox:latest/tag?repo=${encodeURIComponent(name)}&tag=1`);
    await pushRec(s, r, rec, 'no credentials', `/images/${name}/push?tag=1`, anon(r));
    await pushRec(s, r, rec, 'wrong password', `/images/${name}/push?tag=1`, authHeader(AUTH_USER, 'wrong', r.auth));
    await pushRec(s, r, rec, 'right password', `/images/${name}/push?tag=1`, authHeader(AUTH_USER, AUTH_PASS, r.auth));
    await s.api('POST', `/images/busybox:latest/tag?repo=${encodeURIComponent('127.0.0.1:1/rg/pushed')}&tag=1`);
    await pushRec(s, r, rec, 'unreachable', `/images/127.0.0.1:1/rg/pushed/push?tag=1`, anon(r));
    await removeRegistryImages(s);
  },
});

scenario({
  endpoints: ['POST /images/{name}/push'],
  name: 'registry: docker push output; a layer mounted from another repository',
  async run(s, rec) {
    const r = await registries(s);
    // A layer no earlier push sent (dockerd remembers where it pushed a blob even after the image is gone).
    const a = `${r.plain}/rg/cli-a`;
    const b = `${r.plain}/rg/cli-b`;
    const tar = await makeTar({ 'cli.txt': `push ${Date.now()}\n` });
    await s.api('POST', `/images/create?fromSrc=-&repo=${encodeURIComponent(a)}&tag=1`, { body: tar, headers: { 'Content-Type': 'application/x-tar' } });
    await s.api('POST', `/images/${a}:1/tag?repo=${encodeURIComponent(b)}&tag=1`);
    const sizes = (x: { stdout: string; stderr: string; code: number }) => ({ ...x, stdout: x.stdout.replace(/size: \d+/g, 'size: <n>') });
    rec.cli('docker push', sizes(cliLines(fixCli(await s.docker(['push', `${a}:1`]), r))));
    rec.cli('docker push again', sizes(cliLines(fixCli(await s.docker(['push', `${a}:1`]), r))));
    rec.cli('docker push, mounted', sizes(cliLines(fixCli(await s.docker(['push', `${b}:1`]), r))));
    rec.cli('docker push -a', sizes(cliLines(fixCli(await s.docker(['push', '-a', b]), r))));
    rec.cli('docker push missing', fixCli(await s.docker(['push', `${r.plain}/rg/none:1`]), r));
    await removeRegistryImages(s);
  },
});
