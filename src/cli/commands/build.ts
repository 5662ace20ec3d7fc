/** build, commit, diff. */
import { existsSync, readFileSync, statSync, lstatSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join, relative, resolve, isAbsolute } from 'node:path';
import type { Readable } from 'node:stream';
import { packEntries, type PackEntry } from '../../archive/pack-entries.js';
import { peek, detectCompression } from '../../archive/compression.js';
import { IgnoreMatcher } from '../../build/dockerignore.js';
import { CliExit, type Cli, type Command } from '../cli.js';

function kv(list: string[] | undefined, envFallback: boolean): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const a of list ?? []) {
    const eq = a.indexOf('=');
    if (eq >= 0) out[a.slice(0, eq)] = a.slice(eq + 1);
    else out[a] = envFallback ? (process.env[a] ?? null) : '';
  }
  return out;
}

/** The context directory as a tar, `.dockerignore` applied (the Dockerfile and .dockerignore always go). */
export function tarContext(dir: string, dockerfileRel: string): Readable {
  const ignoreFile = join(dir, '.dockerignore');
  const m = new IgnoreMatcher(existsSync(ignoreFile) ? readFileSync(ignoreFile, 'utf8') : '');
  const keep = new Set([dockerfileRel, '.dockerignore']);
  const entries: PackEntry[] = [];
  const walk = (abs: string, rel: string) => {
    for (const n of readdirSync(abs).sort()) {
      const r = rel ? `${rel}/${n}` : n;
      const p = join(abs, n);
      const st = lstatSync(p);
      if (!keep.has(r) && m.excluded(r)) { if (!st.isDirectory() || m.canSkipDir(r)) continue; }
      const base = { name: r, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime };
      if (st.isDirectory()) {
        if (!m.excluded(r)) entries.push({ ...base, type: 'directory' });
        walk(p, r);
      } else if (st.isSymbolicLink()) entries.push({ ...base, type: 'symlink', linkname: readlinkSync(p) });
      else if (st.isFile()) entries.push({ ...base, type: 'file', source: p, size: st.size });
    }
  };
  walk(dir, '');
  return packEntries(entries);
}

export const buildCmd: Command = {
  usage: 'build [OPTIONS] PATH | URL | -',
  summary: 'Build an image from a Dockerfile',
  args: { min: 1, max: 1 },
  flags: [
    { name: 'tag', short: 't', type: 'strings', help: 'Name and optionally a tag in the "name:tag" format' },
    { name: 'file', short: 'f', type: 'string', help: 'Name of the Dockerfile (Default is "PATH/Dockerfile")' },
    { name: 'build-arg', type: 'strings', help: 'Set build-time variables' },
    { name: 'label', type: 'strings', help: 'Set metadata for an image' },
    { name: 'target', type: 'string', help: 'Set the target build stage to build.' },
    { name: 'no-cache', type: 'bool', help: 'Do not use cache when building the image' },
    { name: 'pull', type: 'bool', help: 'Always attempt to pull a newer version of the image' },
    { name: 'quiet', short: 'q', type: 'bool', help: 'Suppress the build output and print image ID on success' },
    { name: 'iidfile', type: 'string', help: 'Write the image ID to the file' },
    { name: 'network', type: 'string', help: 'Set the networking mode for the RUN instructions during build' },
    { name: 'add-host', type: 'strings', help: 'Add a custom host-to-IP mapping ("host:ip")' },
    { name: 'cache-from', type: 'strings', help: 'Images to consider as cache sources' },
    { name: 'rm', type: 'bool', help: 'Remove intermediate containers after a successful build' },
    { name: 'force-rm', type: 'bool', help: 'Always remove intermediate containers' },
  ],
  async run(cli, [ctxArg], f) {
    let body: Readable | undefined;
    let remote: string | undefined;
    let dockerfile = f.file as string | undefined;
    if (ctxArg === '-') {
      const { head, stream } = await peek(process.stdin, 512);
      const isTar = detectCompression(head) !== 'none' || (head.length >= 262 && head.subarray(257, 262).toString() === 'ustar');
      if (isTar) body = stream;
      else {
        const chunks: Buffer[] = [];
        for await (const c of stream) chunks.push(c as Buffer);
        body = packEntries([{ name: 'Dockerfile', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: new Date(), data: Buffer.concat(chunks) }]);
        dockerfile = 'Dockerfile';
      }
    } else if (/^(git:\/\/|git@|https?:\/\/|file:\/\/)/.test(ctxArg) || /\.git(#|$)/.test(ctxArg)) {
      remote = ctxArg;
    } else {
      if (!existsSync(ctxArg) || !statSync(ctxArg).isDirectory()) throw new CliExit(1, `unable to prepare context: path "${ctxArg}" not found`);
      const dir = resolve(ctxArg);
      let rel = 'Dockerfile';
      if (dockerfile) {
        const abs = isAbsolute(dockerfile) ? dockerfile : resolve(dockerfile);
        rel = relative(dir, abs);
        if (rel.startsWith('..')) {
          // A Dockerfile outside the context travels inside the tar under a private name.
          throw new CliExit(1, `unable to prepare context: the Dockerfile (${dockerfile}) must be within the build context`);
        }
      }
      if (!existsSync(join(dir, rel))) throw new CliExit(1, `unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat ${join(dir, rel)}: no such file or directory`);
      dockerfile = rel;
      body = tarContext(dir, rel);
    }
    const client = await cli.client();
    const res = await client.request('POST', '/build', {
      query: {
        t: f.tag as string[], dockerfile, buildargs: JSON.stringify(kv(f['build-arg'] as string[], true)),
        labels: JSON.stringify(kv(f.label as string[], false)), target: f.target as string | undefined,
        nocache: f['no-cache'] as boolean, pull: f.pull as boolean, q: f.quiet as boolean,
        networkmode: f.network as string | undefined, extrahosts: ((f['add-host'] as string[]) ?? []).join(',') || undefined,
        cachefrom: JSON.stringify(f['cache-from'] ?? []), remote, rm: f.rm === false ? false : true, forcerm: f['force-rm'] as boolean,
      },
      body: body ?? Buffer.alloc(0),
      headers: { 'Content-Type': 'application/x-tar' },
    });
    let error: string | undefined;
    let id: string | undefined;
    await client.stream(res, (m) => {
      if (m.error || m.errorDetail) { error = String((m.errorDetail as { message?: string } | undefined)?.message ?? m.error); return; }
      if (m.aux && typeof (m.aux as { ID?: string }).ID === 'string') { id = (m.aux as { ID: string }).ID; return; }
      if (f.quiet) return;
      if (typeof m.stream === 'string') cli.out(m.stream);
      else if (typeof m.status === 'string') cli.out(`${m.status}\n`);
    });
    if (error) throw new CliExit(1, error);
    if (f.quiet && id) cli.out(id + '\n');
    if (f.iidfile && id) writeFileSync(f.iidfile as string, id);
  },
};

export const commitCmd: Command = {
  usage: 'commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]',
  summary: "Create a new image from a container's changes",
  args: { min: 1, max: 2 },
  flags: [
    { name: 'author', short: 'a', type: 'string', help: 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")' },
    { name: 'message', short: 'm', type: 'string', help: 'Commit message' },
    { name: 'change', short: 'c', type: 'strings', help: 'Apply Dockerfile instruction to the created image' },
    { name: 'pause', short: 'p', type: 'bool', help: 'Pause container during commit (default true)' },
  ],
  async run(cli, [container, target], f) {
    let repo: string | undefined;
    let tag: string | undefined;
    if (target) {
      const at = target.lastIndexOf(':');
      if (at > target.lastIndexOf('/')) { repo = target.slice(0, at); tag = target.slice(at + 1); } else repo = target;
    }
    const client = await cli.client();
    const r = await client.json<{ Id: string }>('POST', '/commit', {
      query: { container, repo, tag, author: f.author as string | undefined, comment: f.message as string | undefined, changes: f.change as string[], pause: f.pause === false ? false : true },
    });
    cli.out(r.Id + '\n');
  },
};

export const diffCmd: Command = {
  usage: 'diff CONTAINER',
  summary: "Inspect changes to files or directories on a container's filesystem",
  args: { min: 1, max: 1 },
  flags: [],
  async run(cli, [container]) {
    const client = await cli.client();
    const list = await client.json<Array<{ Path: string; Kind: number }> | null>('GET', `/containers/${encodeURIComponent(container)}/changes`);
    for (const c of list ?? []) cli.out(`${'CAD'[c.Kind]} ${c.Path}\n`);
  },
};
