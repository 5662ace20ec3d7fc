/**
 * COPY and ADD: which files a step takes (wildcards, the context boundary),
 * the checksum the build cache keys on (contents and modes, never mtimes),
 * and the layer entries with Docker's destination rules (a trailing `/` or
 * several sources mean a directory; a file onto an existing directory goes
 * inside it; a directory's contents are copied, not the directory).
 */
import { createHash } from 'node:crypto';
import { createReadStream, type Stats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { posix, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { BerthError } from '../../core/errors.js';
import type { PackEntry } from '../../archive/pack-entries.js';

export interface Source { /** Path as the user wrote it, after matching. */ name: string; abs: string; st: Stats }

/** Docker's filepath.Match for one path element. */
function elementRe(p: string): RegExp {
  let re = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = p.indexOf(']', i + 1);
      if (end < 0) { re += '\\['; continue; }
      let cls = p.slice(i + 1, end);
      if (cls.startsWith('^') || cls.startsWith('!')) cls = '^' + cls.slice(1);
      re += '[' + cls + ']';
      i = end;
    } else if (c === '\\' && i + 1 < p.length) re += '\\' + p[++i];
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp('^' + re + '$');
}

const hasWildcard = (s: string) => /[*?[]/.test(s);

export class CopyError extends BerthError {
  constructor(msg: string) { super(msg, 400); }
}

/** Resolve one source pattern under `root` (the context or another image's tree). */
export async function resolveSource(root: string, pattern: string, instr: string, excluded?: (rel: string) => boolean): Promise<Source[]> {
  const clean = posix.normalize('/' + pattern).slice(1);
  if (posix.normalize(pattern).startsWith('../') || posix.normalize(pattern) === '..') {
    throw new CopyError(`${instr} failed: forbidden path outside the build context: ${pattern} ()`);
  }
  if (!hasWildcard(clean)) {
    const abs = clean ? join(root, clean) : root;
    let st: Stats | null = null;
    try { st = await lstat(abs); } catch { /* missing */ }
    if (!st || (clean && excluded?.(clean))) throw new CopyError(`${instr} failed: file not found in build context or excluded by .dockerignore: stat ${pattern}: file does not exist`);
    return [{ name: clean || '.', abs, st }];
  }
  // Match element by element.
  let cur: string[] = [''];
  for (const part of clean.split('/')) {
    const next: string[] = [];
    for (const base of cur) {
      if (!hasWildcard(part)) { next.push(base ? `${base}/${part}` : part); continue; }
      const re = elementRe(part);
      let names: string[] = [];
      try { names = (await readdir(base ? join(root, base) : root)).sort(); } catch { /* not a dir */ }
      for (const n of names) if (re.test(n)) next.push(base ? `${base}/${n}` : n);
    }
    cur = next;
  }
  const out: Source[] = [];
  for (const rel of cur) {
    if (excluded?.(rel)) continue;
    try { out.push({ name: rel, abs: join(root, rel), st: await lstat(join(root, rel)) }); } catch { /* vanished */ }
  }
  return out;
}

export interface Walked { rel: string; abs: string; st: Stats }

/** A source as the list of what it brings: itself for a file, its contents (recursively) for a directory. */
export async function walkSource(src: Source, excluded?: (rel: string) => boolean): Promise<Walked[]> {
  if (!src.st.isDirectory()) return [{ rel: '', abs: src.abs, st: src.st }];
  const out: Walked[] = [];
  const walk = async (dir: string, rel: string) => {
    for (const n of (await readdir(dir)).sort()) {
      const r = rel ? `${rel}/${n}` : n;
      const ctxRel = src.name === '.' ? r : `${src.name}/${r}`;
      if (excluded?.(ctxRel)) continue;
      const abs = join(dir, n);
      const st = await lstat(abs);
      out.push({ rel: r, abs, st });
      if (st.isDirectory()) await walk(abs, r);
    }
  };
  await walk(src.abs, '');
  return out;
}

async function fileHash(p: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(p), h);
  return h.digest('hex');
}

/** The checksum of everything a step copies: Docker's `file:<hex>` / `dir:<hex>` in history, and the cache key. */
export async function checksum(sources: Array<{ src: Source; items: Walked[] }>): Promise<string> {
  const all = createHash('sha256');
  for (const { src, items } of sources) {
    all.update(`${src.name}\0`);
    for (const it of items) {
      const kind = it.st.isDirectory() ? 'd' : it.st.isSymbolicLink() ? 'l' : 'f';
      all.update(`${it.rel}\0${kind}\0${(it.st.mode & 0o7777).toString(8)}\0`);
      if (kind === 'l') all.update(await readlink(it.abs));
      else if (kind === 'f') all.update(await fileHash(it.abs));
      all.update('\n');
    }
  }
  const hex = all.digest('hex');
  if (sources.length === 1) return `${sources[0].src.st.isDirectory() ? 'dir' : 'file'}:${hex}`;
  return `multi:${hex}`;
}

export interface Owner { uid: number; gid: number }

export interface PlanOptions {
  dest: string;
  /** Destination treated as a directory (trailing `/`, or several sources). */
  destIsDir: boolean;
  /** Whether a path exists in the image below, and whether it is a directory. */
  lookup: (p: string) => Promise<Stats | null>;
  owner?: Owner;
  /** Keep the sources' owners (ADD of an archive) when no --chown is given. */
  keepOwners?: boolean;
  chmod?: number;
  /** Override a single file's name/mode (ADD from a URL). */
}

/** Layer entries for copying `sources` to `dest` in the image. */
export async function planCopy(sources: Array<{ src: Source; items: Walked[] }>, o: PlanOptions): Promise<PackEntry[]> {
  const out: PackEntry[] = [];
  const made = new Set<string>();
  const own = (st: Stats): Owner => o.owner ?? (o.keepOwners ? { uid: st.uid, gid: st.gid } : { uid: 0, gid: 0 });
  const mkParents = async (p: string) => {
    const parts = p.split('/').filter(Boolean);
    for (let k = 1; k <= parts.length; k++) {
      const d = parts.slice(0, k).join('/');
      if (made.has(d)) continue;
      made.add(d);
      if (await o.lookup('/' + d)) continue;
      const ow = o.owner ?? { uid: 0, gid: 0 };
      out.push({ name: d, type: 'directory', mode: 0o755, uid: ow.uid, gid: ow.gid, mtime: new Date() });
    }
  };
  const destStat = await o.lookup(o.dest);
  for (const { src, items } of sources) {
    const isDir = src.st.isDirectory();
    let target: string;
    if (isDir) target = o.dest;
    else if (o.destIsDir || destStat?.isDirectory()) target = posix.join(o.dest, posix.basename(src.name));
    else target = o.dest;
    target = target.replace(/^\/+/, '');
    if (isDir) {
      await mkParents(target);
    } else {
      await mkParents(posix.dirname(target) === '.' ? '' : posix.dirname(target));
    }
    for (const it of items) {
      const name = it.rel ? (target ? `${target}/${it.rel}` : it.rel) : target;
      if (!name) continue;
      const ow = own(it.st);
      const mode = o.chmod ?? (it.st.mode & 0o7777);
      if (it.st.isDirectory()) { made.add(name); out.push({ name, type: 'directory', mode, uid: ow.uid, gid: ow.gid, mtime: it.st.mtime }); }
      else if (it.st.isSymbolicLink()) out.push({ name, type: 'symlink', mode: 0o777, uid: ow.uid, gid: ow.gid, mtime: it.st.mtime, linkname: await readlink(it.abs) });
      else if (it.st.isFile()) out.push({ name, type: 'file', mode, uid: ow.uid, gid: ow.gid, mtime: it.st.mtime, source: it.abs, size: it.st.size });
    }
  }
  return out;
}

/** `--chown=user:group` with names looked up in the image's passwd and group files. */
export function parseChown(spec: string, passwd: string, group: string): Owner {
  const [u, g] = spec.split(':');
  const lookup = (text: string, name: string, what: string): { id: number; gid?: number } => {
    if (/^\d+$/.test(name)) return { id: Number(name) };
    for (const line of text.split('\n')) {
      const f = line.split(':');
      if (f[0] === name && f.length >= 3) return { id: Number(f[2]), gid: f[3] !== undefined ? Number(f[3]) : undefined };
    }
    throw new CopyError(`unable to convert uid/gid chown string to host mapping: can't find ${what} for ${what === 'uid' ? 'user' : 'group'} ${name}: no such ${what === 'uid' ? 'user' : 'group'}`);
  };
  const user = lookup(passwd, u, 'uid');
  if (g === undefined) return { uid: user.id, gid: /^\d+$/.test(u) ? user.id : user.gid ?? user.id };
  return { uid: user.id, gid: lookup(group, g, 'gid').id };
}
