/**
 * COPY and ADD: sources (build context, another stage or image, a URL, a
 * heredoc) turned into a tar of destination paths that is applied to the
 * step's mounted rootfs with the layer applier — so symlinks in the image
 * are followed inside it, never out of it, and owners, modes, times and
 * xattrs land as given. The rootfs is only ever looked at through a `Tree`
 * (archive/tree.ts). Docker's untar rules hold: a `.wh.` name is an
 * ordinary file, in a copied tree as in an archive ADD unpacks.
 */
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { InvalidArgumentError } from '../../core/errors.js';
import { applyTar } from '../../archive/apply.js';
import { Tree } from '../../archive/tree.js';
import { decompressStream, detectCompression } from '../../archive/compression.js';
import { looksLikeTar } from '../../archive/tar-buffer.js';
import { encodeHeader, padding, TAR_END } from '../../archive/tar-writer.js';
import { type BuildContext, cleanContextPath, hasWildcard, type ContextEntry } from '../../dockerfile/context.js';
import { resolveUser } from '../../runtime/user.js';

export interface CopySource {
  /** The path as written (for messages). */
  orig: string;
  entry: ContextEntry;
  /** Context the entry lives in (to walk a directory). */
  ctx: BuildContext;
  /** Keep the source's owners (COPY --from without --chown). */
  keepOwner: boolean;
  /** ADD of a local archive: unpack instead of copying. */
  extract?: boolean;
}

/** Sources named by `srcs` in `ctx`, with Docker's errors for missing or escaping paths. */
export function contextSources(cmd: string, ctx: BuildContext, srcs: string[], keepOwner: boolean, fromName?: string): CopySource[] {
  const out: CopySource[] = [];
  for (const s of srcs) {
    const norm = posix.normalize(s.replace(/^\/+/, ''));
    if (!fromName && (norm === '..' || norm.startsWith('../')))
      throw new InvalidArgumentError(`${cmd} failed: forbidden path outside the build context: ${s} ()`);
    if (hasWildcard(s)) {
      const hits = ctx.glob(s);
      for (const h of hits) out.push({ orig: s, entry: ctx.resolve(h)!, ctx, keepOwner });
      continue;
    }
    const e = ctx.resolve(s);
    if (!e) {
      if (fromName) throw new InvalidArgumentError(`${cmd} failed: stat ${posix.join('/', s)}: file does not exist`);
      throw new InvalidArgumentError(`${cmd} failed: file not found in build context or excluded by .dockerignore: stat ${s}: file does not exist`);
    }
    out.push({ orig: s, entry: e, ctx, keepOwner });
  }
  if (out.length === 0) throw new InvalidArgumentError(`${cmd} failed: no source files were specified`);
  return out;
}

/** The first bytes of a context file, up to `n`. */
async function head(ctx: BuildContext, e: ContextEntry, n: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let len = 0;
  for await (const c of ctx.content({ ...e, size: Math.min(e.size, n) })) {
    parts.push(c);
    len += c.length;
  }
  return Buffer.concat(parts, len);
}

/** ADD's local archive check: a tar, possibly gzip, bzip2 or xz compressed. */
export async function isArchive(ctx: BuildContext, e: ContextEntry): Promise<boolean> {
  const start = await head(ctx, e, 64 << 10);
  const c = detectCompression(start.subarray(0, 8));
  if (c === 'none') return looksLikeTar(start);
  if (c === 'zstd') return false;
  try {
    const { stream } = await decompressStream(Readable.from([start]));
    const chunks: Buffer[] = [];
    let n = 0;
    try {
      for await (const ch of stream) {
        chunks.push(ch as Buffer);
        n += (ch as Buffer).length;
        if (n >= 512) break;
      }
    } catch {
      /* the head of a larger stream ends early: what came out is what counts */
    }
    stream.destroy();
    return looksLikeTar(Buffer.concat(chunks));
  } catch {
    return false;
  }
}

export interface CopyPlan {
  dest: string;
  sources: CopySource[];
  chown?: string;
  chmod?: number;
  workdir: string;
  cmd: string;
}

/** Carry out a copy into the mounted rootfs `root`. */
export async function performCopy(root: string, p: CopyPlan): Promise<void> {
  const tree = Tree.open(root);
  try {
    await copyInto(tree, root, p);
  } finally {
    tree.close();
  }
}

async function copyInto(tree: Tree, root: string, p: CopyPlan): Promise<void> {
  let dest = p.dest;
  const endsInSlash = dest.endsWith('/') || dest.endsWith('/.') || dest === '.';
  if (!dest.startsWith('/')) dest = posix.join('/', p.workdir || '/', dest);
  dest = posix.normalize(dest);
  let identity: { uid: number; gid: number } | undefined;
  if (p.chown) {
    const [u, g] = p.chown.split(':');
    const r = await resolveUser(root, g ? `${u}:${g}` : u);
    identity = { uid: r.uid, gid: g ? r.gid : r.uid };
  }
  const destExists = tree.find(dest, { followLast: true })?.stat.isDirectory() ?? false;
  const destIsDir = endsInSlash || destExists || (p.sources.some((s) => s.entry.type === 'directory' && !s.extract) && p.sources.length > 1);
  if (p.sources.length > 1 && !endsInSlash && !destExists) {
    throw new InvalidArgumentError(`When using ${p.cmd} with more than one source file, the destination must be a directory and end with a /`);
  }
  const now = Math.floor(Date.now() / 1000);
  // The tar is made as it is applied: headers now, file contents read from the context when their turn comes.
  type Piece = Buffer | { ctx: BuildContext; entry: ContextEntry };
  const chunks: Piece[] = [];
  const seen = new Set<string>();
  const emitDir = (rel: string, mode: number, owner: { uid: number; gid: number }, mtime: number, copied = false) => {
    if (seen.has(rel)) return;
    seen.add(rel);
    chunks.push(
      encodeHeader({ name: `${rel}/`, type: 'directory', mode: copied && p.chmod !== undefined ? p.chmod : mode, uid: owner.uid, gid: owner.gid, mtime }),
    );
  };
  const rootOwner = identity ?? { uid: 0, gid: 0 };
  // Missing parents of the destination are made (owned by --chown's identity when given).
  const ensureParents = (abs: string) => {
    const parts = abs.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) {
      const rel = parts.slice(0, i).join('/');
      if (tree.find(rel, { followLast: true })) continue;
      emitDir(rel, 0o755, rootOwner, now);
    }
  };
  const extracts: Array<{ dir: string; src: CopySource }> = [];
  const emitEntry = (e: ContextEntry, rel: string, src: CopySource) => {
    const owner = identity ?? (src.keepOwner ? { uid: e.uid, gid: e.gid } : { uid: 0, gid: 0 });
    if (e.type === 'directory') {
      emitDir(rel, e.mode, owner, e.mtime, true);
      return;
    }
    if (e.type !== 'file' && e.type !== 'symlink') return;
    chunks.push(
      encodeHeader({
        name: rel,
        type: e.type,
        mode: e.type === 'file' && p.chmod !== undefined ? p.chmod : e.mode,
        uid: owner.uid,
        gid: owner.gid,
        mtime: e.mtime,
        size: e.size,
        linkname: e.linkname,
      }),
    );
    if (e.type === 'file' && e.size) {
      chunks.push({ ctx: src.ctx, entry: e });
      chunks.push(Buffer.alloc(padding(e.size)));
    }
  };
  for (const src of p.sources) {
    const e = src.entry;
    if (src.extract) {
      ensureParents(dest);
      extracts.push({ dir: dest, src });
      continue;
    }
    if (e.type === 'directory') {
      ensureParents(dest);
      const base = dest.replace(/^\/+/, '');
      for (const child of src.ctx.walk(e.path)) {
        const rel = child.path.slice(e.path ? e.path.length + 1 : 0);
        emitEntry(child, base ? `${base}/${rel}` : rel, src);
      }
      continue;
    }
    const name = (!hasWildcard(src.orig) && posix.basename(cleanContextPath(src.orig))) || posix.basename(src.entry.path);
    const target = destIsDir ? posix.join(dest, name) : dest;
    ensureParents(posix.dirname(target));
    emitEntry(e, target.replace(/^\/+/, ''), src);
  }
  chunks.push(TAR_END);
  async function* tar(): AsyncGenerator<Buffer> {
    for (const c of chunks) {
      if (Buffer.isBuffer(c)) yield c;
      else yield* c.ctx.content(c.entry);
    }
  }
  await applyTar(tree, Readable.from(tar()), { whiteouts: 'none' });
  for (const x of extracts) {
    const into = tree.subtree(x.dir);
    try {
      const { stream } = await decompressStream(Readable.from(x.src.ctx.content(x.src.entry)));
      await applyTar(into, stream, { whiteouts: 'none' });
    } finally {
      into.close();
    }
  }
}
