/**
 * Files in and out of containers (`docker cp`): HEAD, GET and PUT of
 * /containers/{id}/archive on running and stopped containers, the
 * X-Docker-Container-Path-Stat header decoded, the tars' entries, the
 * refusals (missing paths, a file as the extraction point, a directory
 * overwritten by a file, read-only rootfs and volumes), and the docker CLI's
 * `cp` both ways. Object names start with `ar-`.
 */
import { chownSync, mkdtempSync, mkdirSync, writeFileSync, symlinkSync, readdirSync, lstatSync, readlinkSync, readFileSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scenario, type Answer, type Recorder, type Side } from '../harness.js';
import { container, execCreate, waitExit } from './streams-wire.js';

const STAT = 'x-docker-container-path-stat';
const TAR = { 'Content-Type': 'application/x-tar' };

/** The tree every container here holds under /ar, made by its own shell. */
const SETUP = [
  'mkdir -p /ar/d/sub /ar/empty',
  'printf hello > /ar/d/f',
  'chmod 640 /ar/d/f',
  'chown 1:2 /ar/d/f',
  'printf xyz > /ar/d/sub/g',
  'chmod 4755 /ar/d/sub/g',
  'ln -s /ar/d/f /ar/abs',
  'ln -s d/f /ar/rel',
  'ln -s d /ar/dlink',
  'ln -s nowhere /ar/dangling',
  'ln /ar/d/f /ar/d/hard',
  'mkfifo /ar/d/fifo',
  'printf x > /ar/file',
].join(' && ');

/** The stat header decoded, its mtime reduced to whether it is a time. */
function statOf(a: Answer): unknown {
  const h = a.headers[STAT];
  if (typeof h !== 'string') return h === undefined ? '(no header)' : h;
  const j = JSON.parse(Buffer.from(h, 'base64').toString()) as Record<string, unknown>;
  return { ...j, mtime: typeof j.mtime === 'string' && !Number.isNaN(Date.parse(j.mtime)) ? '<mtime>' : j.mtime };
}

interface TarItem {
  name: string;
  type: string;
  mode: string;
  linkname: string;
  size: number;
  uid: number;
  gid: number;
  data?: string;
}

/** A tar's entries as a client reads them (no mtimes); regular files' bytes when short. */
async function tarEntries(buf: Buffer): Promise<TarItem[] | string> {
  const { extract } = await import('tar-stream');
  const ex = extract();
  const out: TarItem[] = [];
  ex.on('entry', (h, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: unknown) => {
      chunks.push(c as Buffer);
    });
    stream.on('end', () => {
      const data = Buffer.concat(chunks);
      out.push({
        name: h.name,
        type: h.type ?? 'file',
        mode: (h.mode ?? 0).toString(8),
        linkname: h.linkname ?? '',
        size: h.size ?? 0,
        uid: h.uid ?? 0,
        gid: h.gid ?? 0,
        ...(h.type === 'file' && data.length <= 64 ? { data: data.toString() } : {}),
      });
      next();
    });
  });
  const done = new Promise<void>((res, rej) => {
    ex.on('finish', () => res());
    ex.on('error', rej);
  });
  ex.end(buf);
  try {
    await done;
  } catch (e) {
    return `not a tar: ${(e as Error).message}`;
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** A tar made here, with owners and types as given. */
async function makeTar(
  entries: Array<{ name: string; type?: 'file' | 'directory' | 'symlink'; data?: string; mode?: number; uid?: number; gid?: number; linkname?: string }>,
): Promise<Buffer> {
  const { pack } = await import('tar-stream');
  const p = pack();
  for (const e of entries) {
    const type = e.type ?? 'file';
    const h = {
      name: e.name,
      type,
      mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644),
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      linkname: e.linkname,
      mtime: new Date(1_700_000_000_000),
    };
    if (type === 'file') p.entry(h, e.data ?? '');
    else p.entry(h);
  }
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function sh(s: Side, cid: string, cmd: string): Promise<void> {
  const id = await execCreate(s, cid, { Cmd: ['sh', '-c', cmd], AttachStdout: true, AttachStderr: true });
  const r = await s.api('POST', `/exec/${id}/start`, { body: { Detach: false, Tty: false }, timeoutMs: 20000 });
  if (r.status !== 200) throw new Error(`${s.name}: exec ${cmd}: ${r.status} ${r.text}`);
}

/** A running container holding the /ar tree. */
async function running(s: Side, name: string, extra: Record<string, unknown> = {}): Promise<string> {
  const id = await container(s, name, { Cmd: ['sleep', '300'], ...extra });
  await sh(s, id, SETUP);
  return id;
}

/** A stopped container holding the /ar tree (its own command made it, then it exited). */
async function stopped(s: Side, name: string, extra: Record<string, unknown> = {}): Promise<string> {
  const id = await container(s, name, { Cmd: ['sh', '-c', SETUP], ...extra });
  await waitExit(s, id);
  return id;
}

const q = (p: string) => encodeURIComponent(p);

async function head(s: Side, rec: Recorder, label: string, ctr: string, path: string): Promise<void> {
  const a = await s.api('HEAD', `/containers/${ctr}/archive?path=${q(path)}`);
  rec.answer(label, a);
  rec.exact(`${label} stat`, statOf(a));
}

async function get(s: Side, rec: Recorder, label: string, ctr: string, path: string): Promise<void> {
  const a = await s.api('GET', `/containers/${ctr}/archive?path=${q(path)}`);
  rec.answer(label, a, { ignoreBody: true });
  rec.exact(`${label} stat`, statOf(a));
  rec.exact(`${label} entries`, a.status === 200 ? await tarEntries(a.body) : '(no tar)');
}

async function put(s: Side, rec: Recorder, label: string, ctr: string, path: string, body: Buffer, query = ''): Promise<void> {
  rec.answer(label, await s.api('PUT', `/containers/${ctr}/archive?path=${q(path)}${query}`, { body, headers: TAR }));
}

/** Tar headers' mode field: dockerd's carries Go's type bits too. */
const TAR_MODE_BITS = {
  at: /entries\[\d+\]\.mode$/,
  why: "TODO: dockerd (Go archive/tar FileInfoHeader) adds the c_IS* type bits (040000, 0100000, …) to each tar header's mode; berthd writes the permission bits only (the typeflag already says the type; tar, docker cp and Python's tarfile mask them)",
};
/** A path through a file: dockerd leaks its host path in a 500. */
const THROUGH_A_FILE = {
  at: /missing under a file\.(status|message)$/,
  why: 'dockerd 20.10 answers a path through a file 500 with its lstat error, naming its own host path; berthd answers 404 "Could not find the file", as for any other missing path',
};

/** The stat paths every read scenario asks about. */
const STAT_PATHS: Array<[string, string]> = [
  ['file', '/ar/d/f'],
  ['file, relative path', 'ar/d/f'],
  ['dir', '/ar/d'],
  ['dir with slash', '/ar/d/'],
  ['dir with /.', '/ar/d/.'],
  ['root', '/'],
  ['setuid file', '/ar/d/sub/g'],
  ['fifo', '/ar/d/fifo'],
  ['absolute symlink', '/ar/abs'],
  ['relative symlink', '/ar/rel'],
  ['symlink to dir', '/ar/dlink'],
  ['symlink to dir, slash', '/ar/dlink/'],
  ['dangling symlink', '/ar/dangling'],
  ['through a symlink', '/ar/dlink/f'],
  ['missing', '/ar/nope'],
  ['missing under a file', '/ar/file/x'],
  ['missing parent', '/ar/nope/x'],
  ['dotdot above root', '/../../ar/d/f'],
];

scenario({
  endpoints: ['HEAD /containers/{id}/archive'],
  name: 'archive: stat (HEAD) of files, dirs, symlinks and missing paths, running and stopped',
  async run(s, rec) {
    await running(s, 'ar-stat-run');
    await stopped(s, 'ar-stat-stop');
    for (const ctr of ['ar-stat-run', 'ar-stat-stop']) {
      for (const [label, p] of STAT_PATHS) await head(s, rec, `${ctr} ${label}`, ctr, p);
    }
    await head(s, rec, 'empty path', 'ar-stat-run', '');
    rec.answer('no path', await s.api('HEAD', '/containers/ar-stat-run/archive'));
    await head(s, rec, 'missing container', 'ar-nonesuch', '/');
  },
  allow: [THROUGH_A_FILE],
});

scenario({
  endpoints: ['GET /containers/{id}/archive'],
  name: 'archive: get (tar) of a file, a dir, a symlink, a missing path, running and stopped',
  async run(s, rec) {
    await running(s, 'ar-get-run');
    await stopped(s, 'ar-get-stop');
    for (const ctr of ['ar-get-run', 'ar-get-stop']) {
      for (const [label, p] of [
        ['file', '/ar/d/f'],
        ['dir', '/ar/d'],
        ['dir with slash', '/ar/d/'],
        ['dir content', '/ar/d/.'],
        ['empty dir', '/ar/empty'],
        ['symlink', '/ar/abs'],
        ['symlink to dir', '/ar/dlink'],
        ['symlink to dir, slash', '/ar/dlink/'],
        ['dangling symlink', '/ar/dangling'],
        ['through a symlink', '/ar/dlink/sub'],
        ['missing', '/ar/nope'],
        ['missing under a file', '/ar/file/x'],
      ] as const)
        await get(s, rec, `${ctr} ${label}`, ctr, p);
    }
    await get(s, rec, 'empty path', 'ar-get-run', '');
    await get(s, rec, 'missing container', 'ar-nonesuch', '/');
  },
  allow: [TAR_MODE_BITS, THROUGH_A_FILE],
});

scenario({
  endpoints: ['PUT /containers/{id}/archive'],
  name: 'archive: put (extract) into dirs, missing dirs, onto files; noOverwriteDirNonDir, copyUIDGID',
  async run(s, rec) {
    await running(s, 'ar-put-run');
    await stopped(s, 'ar-put-stop');
    await running(s, 'ar-put-user', { User: '1000:1000' });
    const tree = await makeTar([
      { name: 'new', type: 'directory', mode: 0o750, uid: 123, gid: 456 },
      { name: 'new/a', data: 'aaa', mode: 0o600, uid: 123, gid: 456 },
      { name: 'new/l', type: 'symlink', linkname: 'a', uid: 123, gid: 456 },
      { name: 'top', data: 't', mode: 0o755, uid: 7, gid: 8 },
    ]);
    for (const ctr of ['ar-put-run', 'ar-put-stop']) {
      await put(s, rec, `${ctr} into a dir`, ctr, '/ar/empty', tree);
      await get(s, rec, `${ctr} into a dir, read back`, ctr, '/ar/empty');
      await put(s, rec, `${ctr} into a dir through a symlink`, ctr, '/ar/dlink', tree);
      await get(s, rec, `${ctr} through a symlink, read back`, ctr, '/ar/d/new');
      await put(s, rec, `${ctr} into a missing dir`, ctr, '/ar/nope', tree);
      await put(s, rec, `${ctr} into a missing parent`, ctr, '/ar/nope/deeper', tree);
      await put(s, rec, `${ctr} onto a file`, ctr, '/ar/file', tree);
      await put(s, rec, `${ctr} relative path`, ctr, 'ar/d/sub', await makeTar([{ name: 'rel', data: 'r' }]));
      await head(s, rec, `${ctr} relative path, read back`, ctr, '/ar/d/sub/rel');
      // A file where a directory is, and a directory where a file is: refused only when asked.
      const fileOverDir = await makeTar([{ name: 'sub', data: 'not a dir' }]);
      const dirOverFile = await makeTar([{ name: 'f', type: 'directory' }]);
      await put(s, rec, `${ctr} file over dir, noOverwriteDirNonDir`, ctr, '/ar/d', fileOverDir, '&noOverwriteDirNonDir=1');
      await put(s, rec, `${ctr} dir over file, noOverwriteDirNonDir`, ctr, '/ar/d', dirOverFile, '&noOverwriteDirNonDir=true');
      await get(s, rec, `${ctr} after refusals`, ctr, '/ar/d');
      await put(s, rec, `${ctr} file over file, noOverwriteDirNonDir`, ctr, '/ar/d', await makeTar([{ name: 'f', data: 'over' }]), '&noOverwriteDirNonDir=1');
      await put(s, rec, `${ctr} file over dir`, ctr, '/ar/d', fileOverDir);
      await put(s, rec, `${ctr} dir over file`, ctr, '/ar/d', dirOverFile);
      await get(s, rec, `${ctr} after overwrites`, ctr, '/ar/d');
      await put(s, rec, `${ctr} not a tar`, ctr, '/ar/empty', Buffer.from('this is not a tar'.repeat(40)));
      await put(s, rec, `${ctr} empty body`, ctr, '/ar/empty', Buffer.alloc(0));
      await put(s, rec, `${ctr} escaping names`, ctr, '/ar/empty', await makeTar([{ name: '../../escaped', data: 'e' }]));
      await head(s, rec, `${ctr} escaping names, read back`, ctr, '/escaped');
    }
    // copyUIDGID: owners from the tar, or the container's user's.
    const owned = await makeTar([{ name: 'owned', data: 'o', uid: 123, gid: 456 }]);
    for (const ctr of ['ar-put-run', 'ar-put-user']) {
      await put(s, rec, `${ctr} copyUIDGID`, ctr, '/tmp', owned, '&copyUIDGID=1');
      await get(s, rec, `${ctr} copyUIDGID, read back`, ctr, '/tmp/owned');
      await put(s, rec, `${ctr} no copyUIDGID`, ctr, '/', owned);
      await get(s, rec, `${ctr} no copyUIDGID, read back`, ctr, '/owned');
    }
    await put(s, rec, 'empty path', 'ar-put-run', '', tree);
    await put(s, rec, 'missing container', 'ar-nonesuch', '/', tree);
  },
  allow: [
    TAR_MODE_BITS,
    {
      at: /escaping names\.message$/,
      why: 'TODO: the words after dockerd\'s prefix are its tar reader\'s ("\\"../../x\\" is outside of \\"/dest\\""); berthd\'s reader names the refused entry its own way (status and prefix as dockerd)',
    },
    {
      at: /^ar-put-user copyUIDGID(, read back)?( stat| entries)?(\.\w+)?$/,
      why: "dockerd 20.10 looks a numeric Config.User up in the host's passwd (getent) and fails; berthd resolves it in the container, as later dockerd does, and gives the files to 1000:1000",
    },
  ],
});

scenario({
  endpoints: ['PUT /containers/{id}/archive'],
  name: 'archive: put refused on a read-only rootfs and a read-only volume',
  async run(s, rec) {
    const tar = await makeTar([{ name: 'w', data: 'w' }]);
    const hc = { ReadonlyRootfs: true, Binds: ['ar-ro-vol:/rov:ro', 'ar-rw-vol:/rwv'] };
    try {
      await container(s, 'ar-ro-run', { Cmd: ['sleep', '300'], HostConfig: hc });
      await container(s, 'ar-ro-stop', { Cmd: ['true'], HostConfig: hc });
      await waitExit(s, 'ar-ro-stop');
      await container(s, 'ar-rov-stop', { Cmd: ['true'], HostConfig: { Binds: ['ar-ro-vol:/rov:ro'] } });
      await waitExit(s, 'ar-rov-stop');
      for (const ctr of ['ar-ro-run', 'ar-ro-stop']) {
        await put(s, rec, `${ctr} rootfs`, ctr, '/tmp', tar);
        await put(s, rec, `${ctr} read-only volume`, ctr, '/rov', tar);
        await put(s, rec, `${ctr} read-write volume`, ctr, '/rwv', tar);
        await head(s, rec, `${ctr} read-write volume, read back`, ctr, '/rwv/w');
        await put(s, rec, `${ctr} missing dir`, ctr, '/nope', tar);
        await get(s, rec, `${ctr} get still works`, ctr, '/etc/hostname');
      }
      await put(s, rec, 'stopped, read-only volume', 'ar-rov-stop', '/rov', tar);
      await head(s, rec, 'stopped, read-only volume, read back', 'ar-rov-stop', '/rov/w');
      await put(s, rec, 'stopped, beside the read-only volume', 'ar-rov-stop', '/', tar);
      rec.cli('docker cp to a read-only rootfs', await s.docker(['cp', '-', 'ar-ro-run:/tmp'], { input: tar }));
      rec.cli('docker cp to a read-only volume', await s.docker(['cp', '-', 'ar-rov-stop:/rov'], { input: tar }));
    } finally {
      await s.api('DELETE', '/containers/ar-ro-run?force=1');
      await s.api('DELETE', '/containers/ar-ro-stop?force=1');
      await s.api('DELETE', '/containers/ar-rov-stop?force=1');
      await s.api('DELETE', '/volumes/ar-ro-vol?force=1');
      await s.api('DELETE', '/volumes/ar-rw-vol?force=1');
    }
  },
  allow: [
    TAR_MODE_BITS,
    {
      at: /^ar-ro-stop get still works (stat|entries)/,
      why: "TODO: a stopped container's /etc/hostname, /etc/hosts and /etc/resolv.conf: dockerd lays the container's own files over them for the archive API; berthd shows the init layer's empty placeholders",
    },
  ],
});

/** A host directory's tree: names, types, modes, link targets, short contents. */
function hostTree(dir: string): unknown {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const n of readdirSync(join(dir, rel)).sort()) {
      const p = join(rel, n);
      const st = lstatSync(join(dir, p));
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isDirectory()) {
        out[p] = `dir ${mode}`;
        walk(p);
      } else if (st.isSymbolicLink()) out[p] = `symlink -> ${readlinkSync(join(dir, p))}`;
      else if (st.isFIFO()) out[p] = `fifo ${mode}`;
      else out[p] = `file ${mode} ${readFileSync(join(dir, p)).toString().slice(0, 32)}`;
    }
  };
  walk('');
  return out;
}

scenario({
  endpoints: ['GET /containers/{id}/archive', 'PUT /containers/{id}/archive', 'HEAD /containers/{id}/archive'],
  name: 'archive: docker cp both ways, running and stopped, and its refusals',
  async run(s, rec) {
    const tmp = mkdtempSync(join(tmpdir(), `ar-cp-${s.name}-`));
    const cli = async (label: string, args: string[], input?: Buffer) => {
      const r = await s.docker(args, input ? { input } : undefined);
      // The CLI logs its own tar writer's broken pipe when a daemon refuses early: timing, not contract.
      const stderr = r.stderr
        .split(tmp)
        .join('<tmp>')
        .split('\n')
        .filter((l) => !/level=error msg=".*closed pipe"/.test(l))
        .join('\n');
      rec.cli(label, { ...r, stdout: args.at(-1) === '-' ? `${r.stdout.length > 0}` : r.stdout.split(tmp).join('<tmp>'), stderr });
      return r;
    };
    try {
      await running(s, 'ar-cp-run');
      await stopped(s, 'ar-cp-stop');
      mkdirSync(join(tmp, 'in/sub'), { recursive: true });
      writeFileSync(join(tmp, 'in/a'), 'from the host');
      chmodSync(join(tmp, 'in/a'), 0o600);
      writeFileSync(join(tmp, 'in/sub/b'), 'b');
      symlinkSync('a', join(tmp, 'in/l'));
      writeFileSync(join(tmp, 'owned'), 'o');
      chownSync(join(tmp, 'owned'), 4321, 8765);
      for (const ctr of ['ar-cp-run', 'ar-cp-stop']) {
        const out = join(tmp, ctr);
        mkdirSync(out);
        await cli(`${ctr} cp dir out`, ['cp', `${ctr}:/ar/d`, join(out, 'd')]);
        await cli(`${ctr} cp dir content out`, ['cp', `${ctr}:/ar/d/.`, join(out, 'content')]);
        await cli(`${ctr} cp file out`, ['cp', `${ctr}:/ar/d/f`, join(out, 'f')]);
        await cli(`${ctr} cp symlink out`, ['cp', `${ctr}:/ar/abs`, join(out, 'abs')]);
        await cli(`${ctr} cp symlink out, -L`, ['cp', '-L', `${ctr}:/ar/abs`, join(out, 'abs-followed')]);
        rec.exact(`${ctr} cp out, host tree`, hostTree(out));
        await cli(`${ctr} cp missing out`, ['cp', `${ctr}:/ar/nope`, join(out, 'nope')]);
        await cli(`${ctr} cp file out into a missing host dir`, ['cp', `${ctr}:/ar/d/f`, join(out, 'no/such/dir/')]);
        const tarOut = await cli(`${ctr} cp file out to stdout (tar)`, ['cp', `${ctr}:/ar/d/f`, '-']);
        rec.exact(`${ctr} cp to stdout bytes`, tarOut.stdout.includes('hello'));
        await cli(`${ctr} cp dir in`, ['cp', join(tmp, 'in'), `${ctr}:/ar/`]);
        await get(s, rec, `${ctr} cp dir in, read back`, ctr, '/ar/in');
        await cli(`${ctr} cp file in, renamed`, ['cp', join(tmp, 'in/a'), `${ctr}:/ar/renamed`]);
        await head(s, rec, `${ctr} cp file in, renamed, read back`, ctr, '/ar/renamed');
        await cli(`${ctr} cp file in over a file`, ['cp', join(tmp, 'in/a'), `${ctr}:/ar/file`]);
        await cli(`${ctr} cp dir in over a file`, ['cp', join(tmp, 'in'), `${ctr}:/ar/file`]);
        await cli(`${ctr} cp file in over a dir`, ['cp', join(tmp, 'in/a'), `${ctr}:/ar/d`]);
        await cli(`${ctr} cp in, missing dir`, ['cp', join(tmp, 'in/a'), `${ctr}:/ar/nope/x`]);
        await cli(`${ctr} cp in, missing dir with slash`, ['cp', join(tmp, 'in/a'), `${ctr}:/ar/nope/`]);
        await cli(`${ctr} cp in, -a`, ['cp', '-a', join(tmp, 'in/sub'), `${ctr}:/ar/`]);
        await cli(`${ctr} cp owned file in`, ['cp', join(tmp, 'owned'), `${ctr}:/ar/owned-plain`]);
        await cli(`${ctr} cp owned file in, -a`, ['cp', '-a', join(tmp, 'owned'), `${ctr}:/ar/owned-kept`]);
        await get(s, rec, `${ctr} cp owned file in, read back`, ctr, '/ar/owned-plain');
        await get(s, rec, `${ctr} cp owned file in, -a, read back`, ctr, '/ar/owned-kept');
        await cli(`${ctr} cp in from stdin`, ['cp', '-', `${ctr}:/ar/empty`], await makeTar([{ name: 'stdin', data: 's' }]));
        await head(s, rec, `${ctr} cp in from stdin, read back`, ctr, '/ar/empty/stdin');
      }
      await cli('cp missing host path in', ['cp', join(tmp, 'nope'), 'ar-cp-run:/ar/']);
      await cli('cp missing container', ['cp', 'ar-nonesuch:/etc/hostname', join(tmp, 'x')]);
      await cli('cp between containers', ['cp', 'ar-cp-run:/etc/hostname', 'ar-cp-stop:/tmp']);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  },
  allow: [TAR_MODE_BITS],
});
