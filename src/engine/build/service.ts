/**
 * The build service: where a context comes from (the request body — a tar,
 * possibly compressed, or a lone Dockerfile — or the `remote` parameter: a
 * git repository cloned with `git`, or a URL to a tarball or Dockerfile),
 * spooled to disk under the build's own directory, then one Builder run
 * over it. The directory goes when the build ends, however it ends.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Digest } from '../../core/digest.js';
import { dirSize } from '../../core/dir-size.js';
import { InvalidArgumentError, SystemError, messageOf } from '../../core/errors.js';
import type { Filters } from '../../core/filters.js';
import { run } from '../../core/proc.js';
import { parseReference } from '../../core/reference.js';
import type { Change } from '../../archive/diff.js';
import { BuildContext } from '../../dockerfile/context.js';
import type { ContainerService } from '../containers/service.js';
import type { ImageService } from '../images/service.js';
import type { ImageStorage } from '../images/storage.js';
import type { PullRequest } from '../distribution/pull.js';
import type { JsonMessage } from '../distribution/progress.js';
import { Builder, type BuildOptions, type BuildOutput } from './builder.js';
import { pruneBuildCache, type BuildCachePruneReport } from './cache.js';
import { commitContainer, containerChanges, type CommitOptions } from './commit.js';
import { credentialsFor } from './registry-credentials.js';
import { ContextTooLargeError, type BuildSpool } from './spool.js';

export type BuildRequest = Omit<BuildOptions, 'context' | 'scratch'> & { remote?: string };

/** A build as the API asks for it: the pull of a base image is the service's to make. */
export type ApiBuildRequest = Omit<BuildRequest, 'pullImage'> & {
  /** The API's `version` parameter: "1" the classic builder, "2" BuildKit (which Berth does not have). */
  builderVersion?: string;
  /** Every registry's credentials the client sent (X-Registry-Config decoded: address → AuthConfig). */
  registryAuths: Record<string, unknown>;
};

/** A build's output, with the progress of the pulls it makes. */
export interface BuildProgress extends BuildOutput {
  pull(m: JsonMessage): void;
}

/** How a build fetches a base image it does not have (the distribution service's pull). */
export interface ImagePuller {
  pull(req: PullRequest): Promise<void>;
}

export function isGitUrl(s: string): boolean {
  return /^git:\/\//.test(s) || /^git@/.test(s) || /^github\.com\//.test(s) || (/^https?:\/\//.test(s) && /\.git(#.*)?$/.test(s));
}

export class BuildService {
  constructor(
    private readonly images: ImageService,
    private readonly storage: ImageStorage,
    private readonly containers: ContainerService,
    private readonly spool: BuildSpool,
    private readonly puller: ImagePuller,
    /** Told each build's outcome and duration (the engine's metrics). */
    private readonly observe?: (outcome: 'success' | 'failure', seconds: number) => void,
  ) {}

  /**
   * POST /build: the classic builder only, tags checked (dockerd 20.10 answers a bad one with a 500),
   * then the build; FROM an image that is not here (or --pull) is pulled with
   * the credentials the client sent for its registry, progress in the build's stream.
   */
  async run(body: Readable, req: ApiBuildRequest, out: BuildProgress): Promise<Digest> {
    const t0 = performance.now();
    const seconds = () => (performance.now() - t0) / 1000;
    try {
      const id = await this.runBuild(body, req, out);
      this.observe?.('success', seconds());
      return id;
    } catch (e) {
      this.observe?.('failure', seconds());
      throw e;
    }
  }

  private async runBuild(body: Readable, req: ApiBuildRequest, out: BuildProgress): Promise<Digest> {
    if (req.builderVersion === '2')
      throw new InvalidArgumentError('BuildKit is not supported by this daemon: build with the classic builder (DOCKER_BUILDKIT=0)');
    for (const t of req.tags) {
      try {
        parseReference(t);
      } catch (e) {
        throw new SystemError(messageOf(e));
      }
    }
    const { registryAuths, builderVersion: _, ...rest } = req;
    const pullImage = async (image: string) => {
      const ref = parseReference(image);
      await this.puller.pull({
        image,
        tag: ref.tag === undefined && ref.digest === undefined ? 'latest' : undefined,
        auth: credentialsFor(registryAuths, ref.domain),
        emit: (m) => out.pull(m),
      });
    };
    return this.build(body, { ...rest, pullImage }, out);
  }

  /** POST /commit: a container's changes as a new image. */
  commit(o: CommitOptions): Promise<Digest> {
    return commitContainer(this.containers, this.storage, o);
  }

  /** GET /containers/{id}/changes. */
  changes(ref: string): Promise<Change[]> {
    return containerChanges(this.containers, this.storage, ref);
  }

  /** POST /build/prune: the classic builder keeps no cache of its own to prune. */
  pruneCache(filters: Filters, keepStorage: string | undefined): BuildCachePruneReport {
    return pruneBuildCache(filters, keepStorage);
  }

  /** The build's context, unpacked into `dir`. */
  async context(body: Readable, req: BuildRequest, dir: string): Promise<BuildContext> {
    const remote = req.remote;
    const into = join(dir, 'context');
    await mkdir(into, { mode: 0o700 });
    if (!remote) {
      await this.spool.unpack(body, into, req.dockerfile);
      return BuildContext.open(into);
    }
    body.resume();
    if (isGitUrl(remote)) return this.gitContext(remote, into);
    if (/^https?:\/\//.test(remote)) {
      let resp: Response;
      try {
        resp = await fetch(remote, { signal: req.signal });
      } catch (e) {
        throw new InvalidArgumentError(`unable to prepare context: ${messageOf(e)}`);
      }
      if (!resp.ok || !resp.body)
        throw new InvalidArgumentError(`unable to prepare context: failed to GET ${remote} with status ${resp.status} ${resp.statusText}`);
      await this.spool.unpack(Readable.fromWeb(resp.body as WebReadableStream<Uint8Array>), into, req.dockerfile);
      return BuildContext.open(into);
    }
    throw new InvalidArgumentError(`unable to prepare context: remote URL ${remote} is not a git repository or an HTTP URL`);
  }

  /** Clone `url` (`#ref:subdir` as Docker reads it) into `dir` and take the tree (or its subdir) as the context. */
  private async gitContext(url: string, dir: string): Promise<BuildContext> {
    const [repo, frag = ''] = url.split('#');
    const [ref, subdir = ''] = frag.split(':');
    const src = repo!.startsWith('github.com/') ? `https://${repo}` : repo!;
    const env = { ...process.env, GIT_TERMINAL_PROMPT: '0' };
    const args = ['clone', '--quiet', '--recurse-submodules', '--depth', '1', ...(ref ? ['--branch', ref] : []), '--', src, dir];
    let r = await run('git', args, { env });
    if (r.code !== 0 && ref) {
      // A commit rather than a branch or tag: full clone, then check it out.
      await this.spool.release(dir);
      await mkdir(dir, { mode: 0o700 });
      r = await run('git', ['clone', '--quiet', '--', src, dir], { env });
      if (r.code === 0) r = await run('git', ['-C', dir, 'checkout', '--quiet', ref]);
    }
    if (r.code !== 0)
      throw new InvalidArgumentError(`unable to prepare context: unable to 'git clone' to temporary context directory: error fetching: ${r.stderr.trim()}`);
    await this.spool.release(join(dir, '.git'));
    if ((await dirSize(dir)) > this.spool.maxContextSize) throw new ContextTooLargeError(this.spool.maxContextSize);
    const root = BuildContext.open(dir);
    if (!subdir) return root;
    // The subdirectory is looked up inside the checkout: a symlink in the repository cannot point the build elsewhere.
    const sub = root.sub(subdir);
    root.close();
    if (sub?.get('')?.type !== 'directory') throw new InvalidArgumentError(`unable to prepare context: subdirectory ${subdir} is not in the repository`);
    return sub;
  }

  async build(body: Readable, req: BuildRequest, out: BuildOutput): Promise<Digest> {
    const dir = await this.spool.create();
    let context: BuildContext | undefined;
    try {
      context = await this.context(body, req, dir);
      return await new Builder(this.images, this.storage, this.containers, { ...req, context, scratch: dir }, out).build();
    } finally {
      context?.close();
      await this.spool.release(dir);
    }
  }
}
