/**
 * COPY and ADD as instructions: their flags and words, where the sources
 * come from (the build context; another stage's or image's snapshot,
 * mounted for the step; heredocs and ADD's URLs, written as files of a
 * context of their own in the build's scratch directory), the cache key
 * made of the sources' hashes, and the step's layer. Applying the sources
 * to the rootfs is copy.ts.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { InvalidArgumentError, messageOf } from '../../core/errors.js';
import type { ContainerConfig } from '../../core/wire/container-config.js';
import { BuildContext } from '../../dockerfile/context.js';
import type { Node } from '../../dockerfile/parser.js';
import { processWord, processWords } from '../../dockerfile/shell-lex.js';
import { writeLoneFile } from '../../dockerfile/unpack.js';
import type { ImageService } from '../images/service.js';
import type { ImageStorage } from '../images/storage.js';
import { contextSources, isArchive, performCopy, type CopySource } from './copy.js';
import { parseFlags } from './instruction-flags.js';
import type { BuildSession } from './session.js';
import { stageEnv, stageShell, type StageState, type StepWrite } from './stage-state.js';
import type { StepImages } from './step-image.js';

export class CopyInstruction {
  constructor(
    private readonly images: ImageService,
    private readonly storage: ImageStorage,
    private readonly session: BuildSession,
    private readonly steps: StepImages,
  ) {}

  async copy(st: StageState, n: Node, write: StepWrite): Promise<void> {
    const o = this.session.o;
    const usedArgs = this.session.usedArgs;
    const cmd = n.cmd.toUpperCase();
    const flags = parseFlags(n, n.cmd === 'copy' ? ['chown', 'chmod', 'from'] : ['chown', 'chmod']);
    const env = stageEnv(st);
    let words: string[];
    if (n.heredocs.length) {
      words = processWords(n.args, env, st.escape, usedArgs);
    } else if (n.json) words = n.json.map((w) => processWord(w, env, st.escape, usedArgs));
    else words = processWords(n.args, env, st.escape, usedArgs);
    if (words.length < 2)
      throw new InvalidArgumentError(`${cmd} requires at least two arguments, but only one was provided. Destination could not be determined.`);
    const dest = words[words.length - 1]!;
    const srcWords = words.slice(0, -1);
    const chown = flags.get('chown') ? processWord(flags.get('chown')!, env, st.escape) : undefined;
    let chmod: number | undefined;
    if (flags.has('chmod')) {
      const v = flags.get('chmod')!;
      if (!/^[0-7]{1,4}$/.test(v)) throw new InvalidArgumentError(`invalid chmod parameter: ${v}`);
      chmod = parseInt(v, 8);
    }
    let sources: CopySource[] = [];
    let hashes: string[] = [];
    const fromName = flags.get('from');
    let fromCleanup: (() => Promise<void>) | undefined;
    let extra: BuildContext | undefined;
    try {
      if (fromName) {
        const ref = this.session.stageRef(processWord(fromName, this.session.metaEnv(), st.escape), Number.MAX_SAFE_INTEGER);
        const img = ref !== undefined ? await this.session.stageImages.get(ref) : await this.session.resolveImage(fromName);
        if (!img) throw new InvalidArgumentError(`${cmd} failed: stage ${fromName} has no image`);
        const sn = this.storage.snapshotter;
        const key = `build-src-${randomBytes(12).toString('hex')}`;
        const release = this.images.holdSnapshot(key);
        let ctx: BuildContext | undefined;
        // The context's handle on the mount goes first, or the unmount finds it busy.
        fromCleanup = async () => {
          ctx?.close();
          await sn.remove(key).catch(() => {});
          release();
        };
        await sn.prepare(key, this.images.topChainId(img));
        ctx = BuildContext.open(await sn.mount(key));
        sources = contextSources(cmd, ctx, srcWords, !chown, fromName);
        hashes = await sourceHashes(sources);
      } else {
        const heredocNames = new Map(n.heredocs.map((h) => [h.name, h]));
        const ctxSrcs: string[] = [];
        // Heredocs and downloads are files of a context of their own, in the build's scratch directory.
        const extraDir = await mkdtemp(join(o.scratch, 'extra-'));
        extra = BuildContext.open(extraDir);
        for (const w of srcWords) {
          const hd = heredocNames.get(w.replace(/^<<-?/, '').replace(/^["']|["']$/g, ''));
          if (hd && w.startsWith('<<')) {
            const content = hd.expand ? processWord(hd.content.replace(/(["'\\])/g, '\\$1'), env, st.escape) : hd.content;
            await writeLoneFile(Readable.from([Buffer.from(content)]), extraDir, hd.name);
            sources.push({ orig: hd.name, entry: extra.get(hd.name)!, ctx: extra, keepOwner: false });
          } else if (n.cmd === 'add' && /^https?:\/\//.test(w)) {
            sources.push(await this.download(w, extra, extraDir));
          } else ctxSrcs.push(w);
        }
        if (ctxSrcs.length) sources.push(...contextSources(cmd, o.context, ctxSrcs, false));
        for (const s of sources) {
          if (n.cmd === 'add' && s.entry.type === 'file' && s.ctx === o.context && (await isArchive(s.ctx, s.entry))) s.extract = true;
        }
        hashes = await sourceHashes(sources);
      }
      const srcHash = hashes.length === 1 ? hashes[0]! : `multi:${createHashHex(hashes.join(','))}`;
      const chownComment = chown ? `--chown=${chown}` : '';
      const chmodComment = chmod !== undefined ? `--chmod=${flags.get('chmod')}` : '';
      const fromComment = fromName ? `--from=${fromName} ` : '';
      const comment = `${cmd} ${fromComment}${chownComment}${chmodComment}${chownComment || chmodComment ? ' ' : ''}${srcHash} in ${dest} `;
      const cc: ContainerConfig = { ...st.config, Cmd: [...stageShell(st), `#(nop) ${comment}`] };
      if (await this.steps.probe(st, cc, write)) return;
      const layer = await this.steps.withRootfs(st, (root) => performCopy(root, { dest, sources, chown, chmod, workdir: st.config.WorkingDir ?? '/', cmd }));
      await this.steps.createStepImage(st, cc, { layer });
    } finally {
      extra?.close();
      await fromCleanup?.();
    }
  }

  /** ADD of a URL: the body streamed into `dir` (the directory of context `into`). */
  private async download(url: string, into: BuildContext, dir: string): Promise<CopySource> {
    let resp: Response;
    try {
      resp = await fetch(url, { signal: this.session.o.signal });
    } catch (e) {
      throw new InvalidArgumentError(`ADD failed: error downloading ${url}: ${messageOf(e)}`);
    }
    if (!resp.ok) throw new InvalidArgumentError(`ADD failed: failed to GET ${url} with status ${resp.status} ${resp.statusText}`);
    const lm = resp.headers.get('last-modified');
    const base = posix.basename(new URL(url).pathname);
    const name = base && base !== '.' && base !== '..' ? base : 'download';
    const body = resp.body ? Readable.fromWeb(resp.body as WebReadableStream<Uint8Array>) : Readable.from([]);
    await writeLoneFile(body, dir, name, { mode: 0o600, mtime: lm ? Math.floor(Date.parse(lm) / 1000) : 0 });
    return { orig: name, entry: into.get(name)!, ctx: into, keepOwner: false };
  }
}

/** The cache key parts of a copy's sources: what each is and the hash of its content. */
async function sourceHashes(sources: CopySource[]): Promise<string[]> {
  const out: string[] = [];
  for (const s of sources) out.push(`${s.entry.type === 'directory' ? 'dir' : 'file'}:${await s.ctx.hash(s.entry.path)}`);
  return out;
}

function createHashHex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}
