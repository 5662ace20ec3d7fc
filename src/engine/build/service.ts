/**
 * The build service: where a context comes from (the request body — a tar,
 * possibly compressed, or a lone Dockerfile — or the `remote` parameter: a
 * git repository cloned with `git`, or a URL to a tarball or Dockerfile),
 * then one Builder run over it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Digest } from '../../core/digest.js';
import { InvalidArgumentError, messageOf } from '../../core/errors.js';
import { run } from '../../core/proc.js';
import { decompressStream, detectCompression } from '../../archive/compression.js';
import { looksLikeTar } from '../../archive/tar-buffer.js';
import { BuildContext } from '../../build/context.js';
import type { ContainerService } from '../containers/service.js';
import type { ImageService } from '../images/service.js';
import { Builder, type BuildOptions, type BuildOutput } from './builder.js';

export type BuildRequest = Omit<BuildOptions, 'context'> & { remote?: string };

async function readAll(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A context from bytes: a tar (maybe compressed), or else a Dockerfile by itself. */
export async function contextFromBytes(buf: Buffer, dockerfile: string): Promise<BuildContext> {
  let data = buf;
  if (buf.length && detectCompression(buf.subarray(0, 8)) !== 'none') {
    data = await readAll((await decompressStream(Readable.from([buf]))).stream);
  }
  if (looksLikeTar(data)) return BuildContext.fromTar(data);
  if (data.length === 0) return new BuildContext();
  return BuildContext.single(dockerfile || 'Dockerfile', data);
}

export function isGitUrl(s: string): boolean {
  return /^git:\/\//.test(s) || /^git@/.test(s) || /^github\.com\//.test(s) || (/^https?:\/\//.test(s) && /\.git(#.*)?$/.test(s));
}

/** Clone `url` (`#ref:subdir` as Docker reads it) and take the tree as the context. */
async function gitContext(url: string): Promise<BuildContext> {
  const [repo, frag = ''] = url.split('#');
  const [ref, subdir = ''] = frag.split(':');
  const dir = await mkdtemp(join(tmpdir(), 'berth-git-'));
  try {
    const src = repo!.startsWith('github.com/') ? `https://${repo}` : repo!;
    const args = ['clone', '--quiet', '--recurse-submodules', '--depth', '1', ...(ref ? ['--branch', ref] : []), '--', src, dir];
    let r = await run('git', args, { env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
    if (r.code !== 0 && ref) {
      // A commit rather than a branch or tag: full clone, then check it out.
      await rm(dir, { recursive: true, force: true });
      r = await run('git', ['clone', '--quiet', '--', src, dir], { env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
      if (r.code === 0) r = await run('git', ['-C', dir, 'checkout', '--quiet', ref]);
    }
    if (r.code !== 0) throw new InvalidArgumentError(`unable to prepare context: unable to 'git clone' to temporary context directory: error fetching: ${r.stderr.trim()}`);
    const root = subdir ? join(dir, subdir) : dir;
    if (!root.startsWith(dir)) throw new InvalidArgumentError('subdirectory is outside of the repository');
    return BuildContext.fromDir(root);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export class BuildService {
  constructor(private readonly images: ImageService, private readonly containers: ContainerService) {}

  async context(body: Readable, req: BuildRequest): Promise<BuildContext> {
    const remote = req.remote;
    if (!remote) return contextFromBytes(await readAll(body), req.dockerfile);
    body.resume();
    if (isGitUrl(remote)) return gitContext(remote);
    if (/^https?:\/\//.test(remote)) {
      let resp: Response;
      try { resp = await fetch(remote); } catch (e) { throw new InvalidArgumentError(`unable to prepare context: ${messageOf(e)}`); }
      if (!resp.ok) throw new InvalidArgumentError(`unable to prepare context: failed to GET ${remote} with status ${resp.status} ${resp.statusText}`);
      return contextFromBytes(Buffer.from(await resp.arrayBuffer()), req.dockerfile);
    }
    throw new InvalidArgumentError(`unable to prepare context: remote URL ${remote} is not a git repository or an HTTP URL`);
  }

  async build(body: Readable, req: BuildRequest, out: BuildOutput): Promise<Digest> {
    const context = await this.context(body, req);
    return new Builder(this.images, this.containers, { ...req, context }, out).build();
  }
}
