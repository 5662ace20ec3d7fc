/**
 * POST /build as a service: the context (a tar, or a git repository) is
 * unpacked into a temp dir, `.dockerignore` applied, the Dockerfile read,
 * the Builder run, and the result tagged. Output is Docker's JSON stream.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { InvalidArgumentError, BerthError, messageOf } from '../../core/errors.js';
import { run } from '../../core/proc.js';
import { familiarString, parseReference, withDefaultTag, type Reference } from '../../core/reference.js';
import { shortId } from '../../core/digest.js';
import { decompressStream } from '../../archive/compression.js';
import { IgnoreMatcher } from '../../build/dockerignore.js';
import type { Engine } from '../engine.js';
import { pull } from '../distribution/pull.js';
import { Builder, type BuildOptions } from './builder.js';

export interface BuildRequest {
  tags: string[];
  dockerfile?: string;
  buildArgs?: Record<string, string | null>;
  labels?: Record<string, string>;
  target?: string;
  noCache?: boolean;
  pull?: boolean;
  quiet?: boolean;
  cacheFrom?: string[];
  networkMode?: string;
  extraHosts?: string[];
  remote?: string;
  rm?: boolean;
  forceRm?: boolean;
}

async function untar(body: Readable, dir: string): Promise<void> {
  const { stream } = await decompressStream(body);
  const child = spawn('tar', ['-x', '--no-same-owner', '-C', dir], { stdio: ['pipe', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
  stream.pipe(child.stdin);
  child.stdin.on('error', () => {});
  const code = await new Promise<number>((r) => child.on('close', (c) => r(c ?? 1)));
  if (code !== 0) throw new InvalidArgumentError(`failed to read build context: ${err.trim()}`);
}

/** `git clone` a remote context: `URL[#ref][:subdir]`. Returns the context dir. */
async function gitContext(remote: string, dir: string): Promise<string> {
  const hash = remote.indexOf('#');
  const url = hash >= 0 ? remote.slice(0, hash) : remote;
  const [ref, sub] = hash >= 0 ? remote.slice(hash + 1).split(':') : ['', ''];
  const r = await run('git', ['clone', '--recurse-submodules', '-q', ...(ref ? ['--branch', ref] : []), '--depth', '1', url, join(dir, 'repo')]);
  if (r.code !== 0) {
    // --depth with a file:// or path works; a commit ref needs a full clone.
    const r2 = await run('git', ['clone', '-q', url, join(dir, 'repo')]);
    if (r2.code !== 0) throw new InvalidArgumentError(`unable to prepare context: unable to 'git clone' to temporary context directory: ${r.stderr.trim()}`);
    if (ref) { const c = await run('git', ['-C', join(dir, 'repo'), 'checkout', '-q', ref]); if (c.code !== 0) throw new InvalidArgumentError(`unable to checkout ${ref}: ${c.stderr.trim()}`); }
  }
  return sub ? join(dir, 'repo', posix.normalize('/' + sub)) : join(dir, 'repo');
}

export function isGitUrl(s: string): boolean {
  return /^(git:\/\/|git@|github\.com\/)/.test(s) || /\.git(#|$)/.test(s) || s.startsWith('file://');
}

export async function buildImage(engine: Engine, body: Readable, req: BuildRequest, write: (m: Record<string, unknown>) => void): Promise<string | undefined> {
  const tags: Reference[] = [];
  for (const t of req.tags) {
    try { tags.push(withDefaultTag(parseReference(t))); } catch (e) { throw new InvalidArgumentError(`invalid reference format: ${messageOf(e)}`); }
  }
  const tmp = await mkdtemp(join(engine.opts.dataRoot, 'tmp-build-'));
  const out = req.quiet ? () => {} : write;
  try {
    let ctxDir = join(tmp, 'ctx');
    if (req.remote && isGitUrl(req.remote)) { body.resume(); ctxDir = await gitContext(req.remote, tmp); }
    else { await run('mkdir', ['-p', ctxDir]); await untar(body, ctxDir); }
    const dfName = req.dockerfile || 'Dockerfile';
    let text: string;
    try { text = await readFile(join(ctxDir, dfName), 'utf8'); } catch {
      try { if (!req.dockerfile) text = await readFile(join(ctxDir, 'dockerfile'), 'utf8'); else throw new Error(); } catch {
        throw new InvalidArgumentError(`Cannot locate specified Dockerfile: ${dfName}`);
      }
    }
    const ignoreText = await readFile(join(ctxDir, '.dockerignore'), 'utf8').catch(() => '');
    const matcher = new IgnoreMatcher(ignoreText);
    const excluded = ignoreText ? (rel: string) => matcher.excluded(rel) : undefined;
    const opts: BuildOptions = {
      contextDir: ctxDir, dockerfile: text, tags, buildArgs: req.buildArgs ?? {}, labels: req.labels ?? {},
      target: req.target, noCache: req.noCache, pull: req.pull, cacheFrom: req.cacheFrom,
      networkMode: req.networkMode, extraHosts: req.extraHosts, rm: req.rm, forceRm: req.forceRm, excluded,
      pull_image: async (ref, line) => {
        line(`${ref.includes(':') ? '' : 'latest: '}Pulling from ${familiarString(parseReference(ref))}\n`);
        const pr = parseReference(ref);
        await pull(engine.distribution, { image: ref, tag: pr.tag || pr.digest ? undefined : 'latest', emit: () => {} });
      },
    };
    let id = await new Builder({ images: engine.images, containers: engine.containers }, opts, out).build();
    if (Object.keys(req.labels ?? {}).length) {
      // --label applies to the final image, as one more config step.
      const { writeImage } = await import('./image-writer.js');
      const rec = engine.images.resolve(id);
      const cfg = await engine.images.config(id);
      const config = { ...(cfg.config ?? {}), Labels: { ...(cfg.config?.Labels ?? {}), ...req.labels } };
      id = await writeImage(engine.images, { parent: rec, parentConfig: cfg, config, history: { created_by: `/bin/sh -c #(nop)  LABEL ${Object.entries(req.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(' ')}` } });
    }
    write({ aux: { ID: id } });
    if (req.quiet) write({ stream: id + '\n' });
    else write({ stream: `Successfully built ${shortId(id)}\n` });
    if (tags.length) {
      await engine.images.register(engine.images.resolve(id), tags);
      if (!req.quiet) for (const t of tags) write({ stream: `Successfully tagged ${familiarString(t)}\n` });
    }
    return id;
  } catch (e) {
    const msg = messageOf(e);
    const code = (e as { code?: unknown }).code;
    write({ errorDetail: { ...(typeof code === 'number' ? { code } : {}), message: msg }, error: msg });
    if (!(e instanceof BerthError)) return undefined;
    return undefined;
  } finally {
    await rm(tmp, { recursive: true, force: true }).catch(() => {});
  }
}
