/**
 * Image endpoints on the local store: list (filters), inspect, history, tag,
 * delete (untag vs delete, conflicts), prune, save (get), load, import
 * (fromSrc), commit's image side, and `system df`'s image count.
 * Object names start with `im-`.
 */
import { makeTar } from '../../helpers.js';
import { scenario, shape, type Answer, type Side } from '../harness.js';

const TAR = { 'Content-Type': 'application/x-tar' };
const q = (v: unknown) => encodeURIComponent(JSON.stringify(v));

async function build(s: Side, tag: string, dockerfile: string): Promise<string> {
  const body = await makeTar({ Dockerfile: dockerfile });
  const a = await s.api('POST', `/build?t=${tag}`, { body, headers: TAR });
  const aux = (Array.isArray(a.json) ? a.json : []).find((m) => (m as { aux?: unknown }).aux) as { aux: { ID: string } } | undefined;
  if (!aux) throw new Error(`${s.name}: build of ${tag} failed: ${a.text}`);
  return aux.aux.ID;
}

async function rmi(s: Side, ...names: string[]): Promise<void> {
  for (const n of names) await s.api('DELETE', `/images/${n}?force=1`);
}

/** An image delete or prune report, order-free: the untagged names sorted, how many images and layers went. */
function deleteReport(a: Answer): unknown {
  const items = (Array.isArray(a.json) ? a.json : ((a.json as { ImagesDeleted?: unknown[] } | undefined)?.ImagesDeleted ?? [])) as Array<{
    Untagged?: string;
    Deleted?: string;
  }>;
  return {
    untagged: items
      .filter((i) => i.Untagged)
      .map((i) => i.Untagged)
      .sort(),
    deleted: items.filter((i) => i.Deleted).length > 0,
  };
}

async function container(s: Side, name: string, image: string, start: boolean): Promise<string> {
  const c = await s.api('POST', `/containers/create?name=${name}`, { body: { Image: image, Cmd: ['sleep', '300'] } });
  const id = (c.json as { Id: string }).Id;
  if (start) await s.api('POST', `/containers/${id}/start`);
  return id;
}

scenario({
  endpoints: ['GET /images/json'],
  name: 'images: list with filters',
  async run(s, rec) {
    await build(s, 'im-list-a:1', 'FROM busybox\nLABEL im-list=a\n');
    // dockerd orders the list by creation second and leaves ties in any order: make b a second later.
    await new Promise((r) => setTimeout(r, 1100));
    await build(s, 'im-list-b:1', 'FROM busybox\nLABEL im-list=b\nRUN echo b > /b\n');
    const names = (a: Answer) =>
      Array.isArray(a.json)
        ? (a.json as Array<{ RepoTags: string[] }>)
            .flatMap((i) => i.RepoTags ?? [])
            .filter((t) => t.startsWith('im-list'))
            .sort()
        : a.json;
    const all = await s.api('GET', '/images/json');
    rec.answer('list', all);
    rec.exact('list names', names(all));
    for (const [label, f] of [
      ['reference', { reference: ['im-list-*'] }],
      ['reference with tag', { reference: ['im-list-a:1'] }],
      ['label', { label: ['im-list=b'] }],
      ['label key', { label: ['im-list'] }],
      ['dangling', { dangling: ['true'] }],
      ['before', { before: ['im-list-b:1'], reference: ['im-list*'] }],
      ['since', { since: ['im-list-a:1'], reference: ['im-list*'] }],
    ] as const) {
      const a = await s.api('GET', `/images/json?filters=${q(f)}`);
      rec.answer(label, a);
      rec.exact(`${label} names`, names(a));
    }
    rec.answer('bad filter', await s.api('GET', `/images/json?filters=${q({ nope: ['x'] })}`));
    rec.answer('bad dangling', await s.api('GET', `/images/json?filters=${q({ dangling: ['maybe'] })}`));
    rec.answer('before unknown', await s.api('GET', `/images/json?filters=${q({ before: ['im-no-such:1'] })}`));
    // Each element's shape, as a set: the order of images created in the same second is not the contract.
    const everything = await s.api('GET', '/images/json?all=1');
    rec.answer('all', everything, { ignoreBody: true });
    rec.exact('all shapes', [...new Set((everything.json as unknown[]).map((i) => JSON.stringify(shape(i))))].sort());
    rec.cli('docker images', await s.docker(['images', '--format', '{{.Repository}}:{{.Tag}}', '--filter', 'reference=im-list-*']));
    await rmi(s, 'im-list-a:1', 'im-list-b:1');
  },
});

scenario({
  endpoints: ['GET /images/{name}/json', 'GET /images/{name}/history'],
  name: 'images: inspect and history of a built image; unknown names',
  allow: [
    {
      at: /^inspect unknown\.message$/,
      why: 'dockerd 20.10 says it twice ("no such image: X: No such image: X"); berthd says "No such image: X" once, as dockerd 23+ does',
    },
    {
      at: /^inspect bad name\.(status|message)$/,
      why: 'berthd answers a malformed name as an unknown image (404 "No such image"), as dockerd 23+ does; 20.10 answers 400 with the parse error',
    },
  ],
  async run(s, rec) {
    await build(s, 'im-insp:1', 'FROM busybox\nENV IM=1\nRUN echo x > /x\nCMD ["sh"]\n');
    const i = await s.api('GET', '/images/im-insp:1/json');
    rec.answer('inspect', i);
    const j = i.json as Record<string, unknown>;
    rec.exact('config', j.Config);
    rec.exact('fields', {
      RepoTags: j.RepoTags,
      RepoDigests: j.RepoDigests,
      Comment: j.Comment,
      Os: j.Os,
      Architecture: j.Architecture,
      Layers: (j.RootFS as { Layers: string[] }).Layers.length,
    });
    rec.answer('inspect unknown', await s.api('GET', '/images/im-no-such:1/json'));
    rec.answer('inspect bad name', await s.api('GET', '/images/Im-Bad/json'));
    const h = await s.api('GET', '/images/im-insp:1/history');
    rec.answer('history', h);
    rec.exact(
      'history rows',
      (h.json as Array<Record<string, unknown>>).map((r) => ({
        CreatedBy: r.CreatedBy,
        Tags: r.Tags,
        Comment: r.Comment,
        Id: r.Id === '<missing>' ? '<missing>' : 'id',
        empty: r.Size === 0,
      })),
    );
    rec.answer('history unknown', await s.api('GET', '/images/im-no-such:1/history'));
    rec.cli('docker history', await s.docker(['history', '--no-trunc', '--format', '{{.CreatedBy}}|{{.Comment}}', 'im-insp:1']));
    await rmi(s, 'im-insp:1');
  },
});

scenario({
  endpoints: ['POST /images/{name}/tag', 'DELETE /images/{name}'],
  name: 'images: tag, untag vs delete, and the 409 conflicts',
  allow: [
    {
      at: /^tag (bad repo|bad tag|no repo)\.status$/,
      why: 'dockerd 20.10 answers a malformed tag target with 500 (an unclassified error, fixed to 400 in later releases); berthd answers 400',
    },
    {
      at: /^tag (bad tag|no repo)\.message$/,
      why: 'berthd names the fault in the reference parser\'s words ("invalid reference format", "repository name must have at least one component") where 20.10 says "invalid tag format" / "invalid reference format"',
    },
  ],
  async run(s, rec) {
    const id = await build(s, 'im-del:1', 'FROM busybox\nRUN echo d > /d\n');
    rec.answer('tag', await s.api('POST', '/images/im-del:1/tag?repo=im-del&tag=2'));
    rec.answer('tag other repo', await s.api('POST', '/images/im-del:1/tag?repo=im-del-other&tag=1'));
    rec.answer('tag unknown', await s.api('POST', '/images/im-no-such:1/tag?repo=im-x&tag=1'));
    rec.answer('tag bad repo', await s.api('POST', '/images/im-del:1/tag?repo=Im-Bad&tag=1'));
    rec.answer('tag bad tag', await s.api('POST', '/images/im-del:1/tag?repo=im-x&tag=a%2Fb'));
    rec.answer('tag no repo', await s.api('POST', '/images/im-del:1/tag'));
    rec.answer('tag digest', await s.api('POST', `/images/im-del:1/tag?repo=im-x@sha256:${'a'.repeat(64)}`));
    const short = id.slice(7, 19);
    // By ID with tags in two repositories: must force.
    rec.answer('delete multi repo', await s.api('DELETE', `/images/${short}`));
    // A stopped container uses it.
    await container(s, 'im-del-stopped', 'im-del:1', false);
    rec.answer('delete by id, stopped user', await s.api('DELETE', `/images/${short}`));
    const untag = await s.api('DELETE', '/images/im-del:2');
    rec.answer('untag', untag);
    rec.exact('untag report', deleteReport(untag));
    const other = await s.api('DELETE', '/images/im-del-other:1');
    rec.exact('untag other report', deleteReport(other));
    rec.answer('last tag, stopped user', await s.api('DELETE', '/images/im-del:1'));
    // A running one.
    await container(s, 'im-del-running', 'im-del:1', true);
    rec.answer('force by id, running user', await s.api('DELETE', `/images/${short}?force=1`));
    const bb = ((await s.api('GET', '/images/busybox/json')).json as { Id: string }).Id.slice(7, 19);
    rec.answer('delete busybox by id, children and users', await s.api('DELETE', `/images/${bb}`));
    rec.answer('delete unknown', await s.api('DELETE', '/images/im-no-such:1'));
    rec.cli('docker rmi conflict', await s.docker(['rmi', 'im-del:1']));
    await s.api('DELETE', '/containers/im-del-running?force=1');
    await s.api('DELETE', '/containers/im-del-stopped?force=1');
    const del = await s.api('DELETE', '/images/im-del:1');
    rec.answer('delete', del);
    rec.exact('delete report', deleteReport(del));
  },
});

scenario({
  endpoints: ['POST /images/prune'],
  name: 'images: prune dangling, prune -a with a tagged parent and an in-use image',
  async run(s, rec) {
    await build(s, 'im-prune-parent:1', 'FROM busybox\nRUN echo p > /p\n');
    await build(s, 'im-prune-child:1', 'FROM im-prune-parent:1\nRUN echo c > /c\n');
    await build(s, 'im-prune-used:1', 'FROM busybox\nRUN echo u > /u\n');
    await s.api('POST', '/images/im-prune-used:1/tag?repo=im-prune-used&tag=2');
    await s.api('POST', '/images/im-prune-used:1/tag?repo=im-prune-used&tag=3');
    await build(s, 'im-prune-dangling:1', 'FROM busybox\nRUN echo g > /g\n');
    await build(s, 'im-prune-dangling:1', 'FROM busybox\nRUN echo h > /h\n');
    await container(s, 'im-prune-user', 'im-prune-used:1', false);
    // busybox stays in use too.
    await container(s, 'im-prune-bb', 'busybox', false);
    rec.answer('bad filter', await s.api('POST', `/images/prune?filters=${q({ nope: ['x'] })}`));
    const dangling = await s.api('POST', `/images/prune?filters=${q({ label: ['im-none=x'] })}`);
    rec.answer('label no match', dangling);
    const p = await s.api('POST', '/images/prune');
    rec.answer('prune dangling', p);
    const all = await s.api('POST', `/images/prune?filters=${q({ dangling: ['false'] })}`);
    rec.answer('prune all', all);
    rec.exact('prune all report', deleteReport(all));
    const left = await s.api('GET', '/images/json');
    rec.exact('left', (left.json as Array<{ RepoTags: string[] }>).map((i) => (i.RepoTags ?? []).join(',')).sort());
    await s.api('DELETE', '/containers/im-prune-user?force=1');
    await rmi(s, 'im-prune-used:1', 'im-prune-used:2', 'im-prune-used:3');
  },
});

scenario({
  endpoints: ['GET /system/df'],
  name: 'images: system df counts images as dockerd does (not intermediate build steps)',
  async run(s, rec) {
    await build(s, 'im-df:1', 'FROM busybox\nRUN echo 1 > /1\nRUN echo 2 > /2\nRUN echo 3 > /3\n');
    const df = await s.api('GET', '/system/df');
    const imgs = (df.json as { Images: Array<{ RepoTags: string[] }> }).Images;
    rec.exact('df images', imgs.map((i) => (i.RepoTags ?? []).join(',')).sort());
    const r = await s.docker(['system', 'df', '--format', '{{.Type}} {{.TotalCount}}']);
    rec.cli('docker system df', {
      ...r,
      stdout: r.stdout
        .split('\n')
        .filter((l) => l.startsWith('Images'))
        .join('\n'),
    });
    await rmi(s, 'im-df:1');
  },
});

scenario({
  endpoints: ['GET /images/{name}/get', 'GET /images/get', 'POST /images/load'],
  name: 'images: save one and several, load them back; a bad archive stores nothing',
  allow: [
    {
      at: /^get (several )?entries$/,
      why: 'berthd writes the OCI-layout `docker save` archive of dockerd 25+ (index.json, blobs/, and manifest.json so every docker load reads it); dockerd 20.10 writes the legacy per-layer directories',
    },
    {
      at: /^get (several )?unknown\.message$/,
      why: 'dockerd 20.10 says "reference does not exist"; berthd names the image ("No such image: X"), as dockerd 25+ does',
    },
    {
      at: /^load (empty|tar without manifest|manifest naming a missing config|bad manifest json)(\?quiet=1)? error$/,
      why: "dockerd's words there are its internals (the path of its temporary directory, Go's JSON decoder); berthd says what is wrong with the archive",
    },
  ],
  async run(s, rec) {
    await build(s, 'im-save:1', 'FROM busybox\nRUN echo s > /s\n');
    const one = await s.api('GET', '/images/im-save:1/get');
    rec.answer('get', one, { ignoreBody: true });
    rec.exact('get entries', await tarNames(one.body));
    const several = await s.api('GET', '/images/get?names=im-save:1&names=busybox');
    rec.answer('get several', several, { ignoreBody: true });
    rec.exact('get several entries', await tarNames(several.body));
    rec.answer('get unknown', await s.api('GET', '/images/im-no-such:1/get'));
    rec.answer('get several unknown', await s.api('GET', '/images/get?names=im-no-such:1'));
    await rmi(s, 'im-save:1');
    const load = await s.api('POST', '/images/load', { body: one.body, headers: TAR });
    rec.answer('load', load, { exact: true });
    const quiet = await s.api('POST', '/images/load?quiet=1', { body: one.body, headers: TAR });
    rec.answer('load quiet', quiet, { exact: true });
    const before = await s.api('GET', '/images/json?all=1');
    for (const [label, body] of [
      ['garbage', Buffer.from('this is not a tar archive at all, not even close'.repeat(20))],
      ['empty', Buffer.alloc(0)],
      ['tar without manifest', await makeTar({ 'hello.txt': 'hi' })],
      [
        'manifest naming a missing config',
        await makeTar({ 'manifest.json': JSON.stringify([{ Config: 'nope.json', RepoTags: ['im-load-bad:1'], Layers: ['l/layer.tar'] }]) }),
      ],
      ['bad manifest json', await makeTar({ 'manifest.json': '{not json' })],
    ] as const) {
      for (const quiet of ['', '?quiet=1']) {
        const a = await s.api('POST', `/images/load${quiet}`, { body, headers: TAR });
        rec.answer(`load ${label}${quiet}`, a);
        const m = (Array.isArray(a.json) ? a.json.at(-1) : a.json) as { error?: string } | undefined;
        rec.exact(`load ${label}${quiet} error`, m?.error);
      }
    }
    const after = await s.api('GET', '/images/json?all=1');
    rec.exact('nothing stored', (after.json as unknown[]).length === (before.json as unknown[]).length);
    rec.cli('docker load bad', await s.docker(['load'], { input: Buffer.from('garbage'.repeat(100)) }));
    rec.cli('docker load -q', await s.docker(['load', '-q'], { input: one.body }));
    await rmi(s, 'im-save:1');
  },
});

async function tarNames(buf: Buffer): Promise<string[]> {
  const { extract } = await import('tar-stream');
  const ex = extract();
  const names: string[] = [];
  ex.on('entry', (h, stream, next) => {
    names.push(`${h.type}:${h.name.replace(/[0-9a-f]{64}/g, '<id>')}`);
    stream.on('end', next);
    stream.resume();
  });
  const done = new Promise<void>((res, rej) => {
    ex.on('finish', () => res());
    ex.on('error', rej);
  });
  ex.end(buf);
  await done;
  return names.sort();
}

scenario({
  endpoints: ['POST /images/create'],
  name: 'images: import a rootfs (fromSrc=-) with repo, tag, message and changes; a bad one',
  allow: [
    {
      at: /^import unreachable url\.(status|message)$/,
      why: "dockerd 20.10 answers an unreachable fromSrc URL 500 with Go's HTTP client error; berthd answers 400 naming the URL (the client gave it)",
    },
    {
      at: /^neither\.(status|message)$/,
      why: 'dockerd 20.10 takes neither fromImage nor fromSrc as an import from the URL "" (500 "Get "http:": http: no Host in request URL"); berthd answers 400 "fromImage or fromSrc is required"',
    },
  ],
  async run(s, rec) {
    const rootfs = await makeTar({ 'etc/': { type: 'directory' }, 'etc/hello': 'hello' });
    const a = await s.api(
      'POST',
      `/images/create?fromSrc=-&repo=im-import&tag=1&message=imported&changes=${encodeURIComponent('ENV A=1')}&changes=${encodeURIComponent('CMD ["/bin/true"]')}`,
      { body: rootfs, headers: TAR },
    );
    rec.answer('import', a, { exact: true });
    const i = (await s.api('GET', '/images/im-import:1/json')).json as Record<string, unknown>;
    rec.exact('imported', {
      Comment: i.Comment,
      Config: i.Config,
      Layers: (i.RootFS as { Layers: string[] }).Layers.length,
      DockerVersion: typeof i.DockerVersion,
    });
    const h = (await s.api('GET', '/images/im-import:1/history')).json as Array<Record<string, unknown>>;
    rec.exact(
      'history',
      h.map((r) => ({ CreatedBy: r.CreatedBy, Comment: r.Comment, Tags: r.Tags })),
    );
    rec.answer(
      'import bad change',
      await s.api('POST', `/images/create?fromSrc=-&repo=im-import&tag=2&changes=${encodeURIComponent('NOPE x')}`, { body: rootfs, headers: TAR }),
    );
    rec.answer('import bad repo', await s.api('POST', '/images/create?fromSrc=-&repo=Im-Bad', { body: rootfs, headers: TAR }));
    rec.answer(
      'import garbage',
      await s.api('POST', '/images/create?fromSrc=-&repo=im-import&tag=3', { body: Buffer.from('garbage'.repeat(100)), headers: TAR }),
      { exact: true },
    );
    rec.answer('import unreachable url', await s.api('POST', '/images/create?fromSrc=http%3A%2F%2F127.0.0.1%3A9%2Fx.tar&repo=im-import&tag=4'), {
      exact: true,
    });
    rec.answer('neither', await s.api('POST', '/images/create'));
    rec.cli('docker import', await s.docker(['import', '-m', 'via cli', '-', 'im-import:5'], { input: rootfs }));
    await rmi(s, 'im-import:1', 'im-import:5');
  },
});

scenario({
  endpoints: ['POST /commit'],
  name: 'images: commit of a running container — the image side',
  allow: [
    {
      at: /^commit bad repo\.status$/,
      why: 'dockerd 20.10 answers a malformed repo with 500 (an unclassified error, 400 in later releases); berthd answers 400',
    },
  ],
  async run(s, rec) {
    const id = await container(s, 'im-commit', 'busybox', true);
    await s.api('POST', `/containers/${id}/exec`, { body: { Cmd: ['true'] } });
    const c = await s.api('POST', `/commit?container=im-commit&repo=im-commit&tag=1&comment=hello&author=me&changes=${encodeURIComponent('ENV C=1')}`, {
      body: { Labels: { im: 'commit' } },
    });
    rec.answer('commit', c);
    const i = (await s.api('GET', '/images/im-commit:1/json')).json as Record<string, unknown>;
    rec.exact('image', {
      Comment: i.Comment,
      Author: i.Author,
      Config: i.Config,
      Container: typeof i.Container,
      Parent: i.Parent === '' ? '' : 'set',
      Layers: (i.RootFS as { Layers: string[] }).Layers.length,
    });
    rec.answer('commit unknown', await s.api('POST', '/commit?container=im-no-such'));
    rec.answer('commit bad repo', await s.api('POST', '/commit?container=im-commit&repo=Im-Bad'));
    rec.cli('docker commit', await s.docker(['commit', '-c', 'LABEL x=y', 'im-commit', 'im-commit:2']));
    await s.api('DELETE', '/containers/im-commit?force=1');
    await rmi(s, 'im-commit:1', 'im-commit:2');
  },
});
