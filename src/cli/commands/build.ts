/** build, commit and diff: docker's flags and output. */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  lstatSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { spawnSync } from 'node:child_process';
import { encodeHeader, padding, TAR_END } from '../../archive/tar-writer.js';
import { detectCompression } from '../../archive/compression.js';
import { looksLikeTar } from '../../archive/tar-buffer.js';
import { hasExceptions, isIgnored, parseDockerignore, type IgnorePattern } from '../../dockerfile/dockerignore.js';
import { parseReference } from '../../core/reference.js';
import { CliExit, type Command } from '../cli.js';
import { humanSize4 } from '../format/units.js';

/** The context directory as a tar, .dockerignore applied (the Dockerfile and .dockerignore always go). */
export function tarDirectory(root: string, ignore: IgnorePattern[], keep: Set<string>, extra: Array<{ name: string; data: Buffer }> = []): Buffer {
  const chunks: Buffer[] = [];
  const canSkipDirs = !hasExceptions(ignore);
  const buf = Buffer.allocUnsafe(1 << 20);
  const walk = (abs: string, rel: string) => {
    for (const name of readdirSync(abs).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      if (extra.some((x) => x.name === r)) continue; // replaced by what the CLI sends instead
      const p = join(abs, name);
      const st = lstatSync(p);
      const ignored = !keep.has(r) && isIgnored(ignore, r);
      if (ignored && (canSkipDirs || !st.isDirectory())) continue;
      const mtime = Math.floor(st.mtimeMs / 1000);
      const mode = st.mode & 0o7777;
      if (st.isDirectory()) {
        if (!ignored) chunks.push(encodeHeader({ name: `${r}/`, type: 'directory', mode, mtime }));
        walk(p, r);
      } else if (st.isSymbolicLink()) {
        chunks.push(encodeHeader({ name: r, type: 'symlink', mode, mtime, linkname: readlinkSync(p) }));
      } else if (st.isFile()) {
        chunks.push(encodeHeader({ name: r, type: 'file', mode, mtime, size: st.size }));
        if (st.size > 0) {
          if (st.size <= buf.length) {
            const fd = openSync(p, 'r');
            try {
              let off = 0;
              while (off < st.size) {
                const n = readSync(fd, buf, off, st.size - off, off);
                if (n <= 0) break;
                off += n;
              }
              chunks.push(Buffer.from(buf.subarray(0, st.size)));
            } finally {
              closeSync(fd);
            }
          } else chunks.push(readFileSync(p));
          chunks.push(Buffer.alloc(padding(st.size)));
        }
      }
    }
  };
  walk(root, '');
  const now = Math.floor(Date.now() / 1000);
  for (const x of extra) {
    chunks.push(encodeHeader({ name: x.name, type: 'file', mode: 0o600, mtime: now, size: x.data.length }), x.data, Buffer.alloc(padding(x.data.length)));
  }
  chunks.push(TAR_END);
  return Buffer.concat(chunks);
}

function isGitUrl(s: string): boolean {
  return /^git:\/\//.test(s) || /^git@/.test(s) || /^github\.com\//.test(s) || (/^https?:\/\//.test(s) && /\.git(#.*)?$/.test(s));
}

function readStdin(): Buffer {
  const chunks: Buffer[] = [];
  const b = Buffer.alloc(1 << 16);
  for (;;) {
    let n = 0;
    try {
      n = readSync(0, b, 0, b.length, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      if ((e as NodeJS.ErrnoException).code === 'EOF') break;
      throw e;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(b.subarray(0, n)));
  }
  return Buffer.concat(chunks);
}

function dockerfileTar(data: Buffer): Buffer {
  return Buffer.concat([
    encodeHeader({ name: 'Dockerfile', type: 'file', mode: 0o600, mtime: Math.floor(Date.now() / 1000), size: data.length }),
    data,
    Buffer.alloc(padding(data.length)),
    TAR_END,
  ]);
}

/** `key=value` pairs; a bare key takes its value from the environment (as docker does). */
function kvFlags(list: string[], fromEnv: boolean): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const s of list) {
    const eq = s.indexOf('=');
    if (eq < 0) out[s] = fromEnv ? (process.env[s] ?? null) : '';
    else out[s.slice(0, eq)] = s.slice(eq + 1);
  }
  return out;
}

export const buildCmd: Command = {
  usage: 'build [OPTIONS] PATH | URL | -',
  summary: 'Build an image from a Dockerfile',
  args: { min: 1, max: 1 },
  flags: [
    { name: 'add-host', type: 'strings', help: 'Add a custom host-to-IP mapping (format: "host:ip")' },
    { name: 'build-arg', type: 'strings', help: 'Set build-time variables' },
    { name: 'cache-from', type: 'strings', help: 'Images to consider as cache sources' },
    { name: 'file', short: 'f', type: 'string', help: 'Name of the Dockerfile (Default is "PATH/Dockerfile")' },
    { name: 'force-rm', type: 'bool', help: 'Always remove intermediate containers' },
    { name: 'iidfile', type: 'string', help: 'Write the image ID to the file' },
    { name: 'label', type: 'strings', help: 'Set metadata for an image' },
    { name: 'network', type: 'string', help: 'Set the networking mode for the RUN instructions during build (default "default")' },
    { name: 'no-cache', type: 'bool', help: 'Do not use cache when building the image' },
    { name: 'platform', type: 'string', help: 'Set platform if server is multi-platform capable' },
    { name: 'pull', type: 'bool', help: 'Always attempt to pull a newer version of the image' },
    { name: 'quiet', short: 'q', type: 'bool', help: 'Suppress the build output and print image ID on success' },
    { name: 'rm', type: 'bool', default: true, help: 'Remove intermediate containers after a successful build' },
    { name: 'tag', short: 't', type: 'strings', help: 'Name and optionally a tag in the "name:tag" format' },
    { name: 'target', type: 'string', help: 'Set the target build stage to build.' },
  ],
  async run(cli, [spec], f) {
    for (const t of f.tag as string[]) {
      try {
        parseReference(t);
      } catch {
        throw new CliExit(1, `invalid argument "${t}" for "-t, --tag" flag: invalid reference format`);
      }
    }
    let file = (f.file as string | undefined) ?? '';
    let body: Buffer | undefined;
    let remote: string | undefined;
    let dockerfileParam = '';
    let cleanup: string | undefined;
    try {
      let dir: string | undefined;
      if (spec === '-') {
        if (file === '-') throw new CliExit(1, "invalid argument: can't use stdin for both build context and dockerfile");
        const data = readStdin();
        const compressed = data.length > 0 && detectCompression(data.subarray(0, 8)) !== 'none';
        body = compressed || looksLikeTar(data) ? data : dockerfileTar(data);
        dockerfileParam = compressed || looksLikeTar(data) ? file : 'Dockerfile';
      } else if (isGitUrl(spec!)) {
        // Like docker: clone here, send the tree.
        const [repo, frag = ''] = spec!.split('#');
        const [ref, sub = ''] = frag.split(':');
        cleanup = mkdtempSync(join(tmpdir(), 'berth-build-git-'));
        const src = repo!.startsWith('github.com/') ? `https://${repo}` : repo!;
        const r = spawnSync('git', ['clone', '--quiet', '--recurse-submodules', '--depth', '1', ...(ref ? ['--branch', ref] : []), '--', src, cleanup], {
          encoding: 'utf8',
        });
        if (r.status !== 0)
          throw new CliExit(1, `unable to prepare context: unable to 'git clone' to temporary context directory: error fetching: ${r.stderr.trim()}`);
        rmSync(join(cleanup, '.git'), { recursive: true, force: true });
        dir = join(cleanup, sub);
      } else if (/^https?:\/\//.test(spec!)) {
        remote = spec;
        dockerfileParam = file;
      } else {
        dir = spec!;
        if (!existsSync(dir)) throw new CliExit(1, `unable to prepare context: path "${dir}" not found`);
        if (!statSync(dir).isDirectory()) throw new CliExit(1, `unable to prepare context: context must be a directory: ${resolve(dir)}`);
      }
      if (dir) {
        const extra: Array<{ name: string; data: Buffer }> = [];
        let rel = 'Dockerfile';
        if (file === '-') {
          rel = `.dockerfile.${randomBytes(10).toString('hex')}`;
          extra.push({ name: rel, data: readStdin() });
        } else if (file) {
          const abs = resolve(file);
          const r = relative(resolve(dir), abs);
          if (r.startsWith('..') || r.startsWith(sep)) {
            if (!existsSync(abs))
              throw new CliExit(1, `unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat ${abs}: no such file or directory`);
            rel = `.dockerfile.${randomBytes(10).toString('hex')}`;
            extra.push({ name: rel, data: readFileSync(abs) });
          } else rel = r.split(sep).join('/');
        } else if (!existsSync(join(dir, 'Dockerfile')) && existsSync(join(dir, 'dockerfile'))) rel = 'dockerfile';
        if (!extra.length && !existsSync(join(dir, rel))) {
          throw new CliExit(
            1,
            `unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat ${resolve(dir, rel)}: no such file or directory`,
          );
        }
        const igPath = join(dir, '.dockerignore');
        const igText = existsSync(igPath) ? readFileSync(igPath, 'utf8') : undefined;
        const ignore = igText !== undefined ? parseDockerignore(igText) : [];
        // A Dockerfile added under a name of its own is listed in the .dockerignore sent, so the daemon drops it
        // from the context after reading it (as the docker CLI does): COPY . never copies it.
        if (extra.length) extra.push({ name: '.dockerignore', data: Buffer.from(`${igText ?? '.dockerignore'}\n${rel}\n`) });
        body = tarDirectory(dir, ignore, new Set([rel, '.dockerignore']), extra);
        dockerfileParam = rel;
      }
      file = dockerfileParam;
      if (body && !f.quiet) cli.out(`Sending build context to Docker daemon  ${humanSize4(body.length)}\n`);
    } finally {
      if (cleanup) rmSync(cleanup, { recursive: true, force: true });
    }
    const hosts = (f['add-host'] as string[]).map((h) => h.replace(/=/, ':'));
    const client = await cli.client();
    const res = await client.request('POST', '/build', {
      query: {
        t: f.tag as string[],
        dockerfile: file || undefined,
        remote,
        buildargs: JSON.stringify(kvFlags(f['build-arg'] as string[], true)),
        labels: JSON.stringify(kvFlags(f.label as string[], false)),
        target: f.target as string | undefined,
        nocache: f['no-cache'] as boolean,
        pull: f.pull as boolean,
        q: f.quiet as boolean,
        cachefrom: JSON.stringify(f['cache-from'] as string[]),
        networkmode: f.network as string | undefined,
        extrahosts: hosts.length ? hosts.join(',') : undefined,
        rm: f.rm ? '1' : '0',
        forcerm: f['force-rm'] as boolean,
        platform: f.platform as string | undefined,
        version: '1',
      },
      body,
      headers: { 'Content-Type': 'application/x-tar' },
    });
    let id: string | undefined;
    let held = '';
    let error: { message: string; code: number } | undefined;
    const quiet = f.quiet as boolean;
    // Streamed text and, for a FROM that pulls, the pull's progress lines, as the docker CLI renders both.
    const { ProgressRenderer } = await import('../format/progress.js');
    const progress = new ProgressRenderer((t) => cli.out(t), !!process.stdout.isTTY, process.stdout.columns ?? 80);
    await client.stream(res, (m) => {
      if (m.errorDetail || m.error) {
        const d = m.errorDetail as { message?: string; code?: number } | undefined;
        error = { message: String(d?.message ?? m.error), code: d?.code || 1 };
        return;
      }
      if (m.aux && typeof (m.aux as { ID?: string }).ID === 'string') id = (m.aux as { ID: string }).ID;
      // Quiet, the daemon sends only the ID, as a stream message (and on failure what it held back).
      if (quiet && typeof m.stream === 'string') held += m.stream;
      else if (typeof m.stream === 'string' || typeof m.status === 'string') progress.render(m as never);
    });
    if (error) {
      if (quiet && held) process.stderr.write(held);
      throw new CliExit(error.code, error.message);
    }
    if (quiet) {
      id ??= held.trim();
      cli.out(held);
    }
    if (f.iidfile && id) writeFileSync(f.iidfile as string, id);
  },
};

export const commitCmd: Command = {
  usage: 'commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]',
  summary: "Create a new image from a container's changes",
  args: { min: 1, max: 2 },
  flags: [
    { name: 'author', short: 'a', type: 'string', help: 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")' },
    { name: 'change', short: 'c', type: 'strings', help: 'Apply Dockerfile instruction to the created image' },
    { name: 'message', short: 'm', type: 'string', help: 'Commit message' },
    { name: 'pause', short: 'p', type: 'bool', default: true, help: 'Pause container during commit' },
  ],
  async run(cli, [container, ref], f) {
    let repo: string | undefined;
    let tag: string | undefined;
    if (ref) {
      let r;
      try {
        r = parseReference(ref);
      } catch (e) {
        throw new CliExit(1, `invalid reference format: ${(e as Error).message}`);
      }
      if (r.digest) throw new CliExit(1, 'refusing to create a tag with a digest reference');
      tag = r.tag;
      repo = tag ? ref.slice(0, ref.length - tag.length - 1) : ref;
    }
    const client = await cli.client();
    const out = await client.json<{ Id: string }>('POST', '/commit', {
      query: {
        container,
        repo,
        tag,
        author: f.author as string | undefined,
        comment: f.message as string | undefined,
        changes: f.change as string[],
        pause: f.pause ? '1' : '0',
      },
    });
    cli.out(out.Id + '\n');
  },
};

export const diffCmd: Command = {
  usage: 'diff CONTAINER',
  summary: "Inspect changes to files or directories on a container's filesystem",
  args: { min: 1, max: 1 },
  flags: [],
  async run(cli, [container]) {
    const client = await cli.client();
    const changes = await client.json<Array<{ Path: string; Kind: number }> | null>('GET', `/containers/${encodeURIComponent(container!)}/changes`);
    for (const c of changes ?? []) cli.out(`${['C', 'A', 'D'][c.Kind] ?? '?'} ${c.Path}\n`);
  },
};
