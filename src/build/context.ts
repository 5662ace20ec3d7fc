/**
 * A build context held in memory: the tar the client sent, indexed by path.
 * Files are hashed lazily and only when a COPY or ADD names them: the cache
 * key of a copy is the hash of what it copies (type, mode, owner, link
 * target and content — never times), so a rebuild hashes only what its
 * instructions use and a touched-but-unchanged file still hits the cache.
 */
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join, posix } from 'node:path';
import { readTarBuffer } from '../archive/tar-buffer.js';
import type { EntryType } from '../archive/tar-reader.js';
import { isIgnored, parseDockerignore, type IgnorePattern } from './dockerignore.js';

export interface ContextEntry {
  /** Clean relative path; '' is the root. */
  path: string;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  linkname: string;
  data: Buffer;
  xattrs: Map<string, Buffer>;
}

/** A path inside the context as Docker cleans it: relative, no `..` above the root. */
export function cleanContextPath(p: string): string {
  const n = posix.normalize('/' + p).slice(1);
  return n.replace(/\/+$/, '');
}

export class BuildContext {
  private entries = new Map<string, ContextEntry>();
  private kids = new Map<string, Set<string>>();
  private hashes = new Map<string, string>();

  constructor() {
    this.put({ path: '', type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: 0, linkname: '', data: Buffer.alloc(0), xattrs: new Map() });
  }

  static fromTar(buf: Buffer): BuildContext {
    const c = new BuildContext();
    for (const e of readTarBuffer(buf)) {
      const path = cleanContextPath(e.name);
      c.put({ path, type: e.type, mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime, linkname: e.linkname, data: e.data, xattrs: e.xattrs });
    }
    return c;
  }

  /** A directory on disk (a cloned git repository), `.git` left out. */
  static fromDir(root: string): BuildContext {
    const c = new BuildContext();
    const walk = (abs: string, rel: string) => {
      for (const name of readdirSync(abs)) {
        if (!rel && name === '.git') continue;
        const p = join(abs, name);
        const r = rel ? `${rel}/${name}` : name;
        const st = lstatSync(p);
        const type = st.isDirectory() ? 'directory' : st.isSymbolicLink() ? 'symlink' : st.isFile() ? 'file' : undefined;
        if (!type) continue;
        c.put({
          path: r, type, mode: st.mode & 0o7777, uid: 0, gid: 0, mtime: Math.floor(st.mtimeMs / 1000),
          linkname: type === 'symlink' ? readlinkSync(p) : '', data: type === 'file' ? readFileSync(p) : Buffer.alloc(0), xattrs: new Map(),
        });
        if (type === 'directory') walk(p, r);
      }
    };
    walk(root, '');
    return c;
  }

  /** A context of one file (a Dockerfile sent on its own). */
  static single(name: string, data: Buffer): BuildContext {
    const c = new BuildContext();
    c.put({ path: name, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: Math.floor(Date.now() / 1000), linkname: '', data, xattrs: new Map() });
    return c;
  }

  put(e: ContextEntry): void {
    const existing = this.entries.get(e.path);
    if (existing?.type === 'directory' && e.type === 'directory' && e.path === '') return;
    this.entries.set(e.path, e);
    if (e.path === '') return;
    // Parents a tar left out exist implicitly.
    let child = e.path;
    for (;;) {
      const slash = child.lastIndexOf('/');
      const parent = slash < 0 ? '' : child.slice(0, slash);
      let set = this.kids.get(parent);
      if (!set) { set = new Set(); this.kids.set(parent, set); }
      set.add(child.slice(slash + 1));
      if (parent === '' || this.entries.has(parent)) break;
      this.entries.set(parent, { path: parent, type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: 0, linkname: '', data: Buffer.alloc(0), xattrs: new Map() });
      child = parent;
    }
  }

  get(path: string): ContextEntry | undefined { return this.entries.get(path); }

  /** Follow symlinks (scoped to the context) to the entry a path names. */
  resolve(path: string): ContextEntry | undefined {
    let p = cleanContextPath(path);
    for (let hops = 0; hops < 40; hops++) {
      // Resolve parents first, then the last element.
      const parts = p ? p.split('/') : [];
      let cur = '';
      let changed = false;
      for (let i = 0; i < parts.length; i++) {
        const next = cur ? `${cur}/${parts[i]}` : parts[i]!;
        const e = this.entries.get(next);
        if (e?.type === 'symlink') {
          const base = e.linkname.startsWith('/') ? '' : cur;
          p = cleanContextPath(posix.join('/', base, e.linkname, ...parts.slice(i + 1)));
          changed = true;
          break;
        }
        cur = next;
      }
      if (!changed) return this.entries.get(p);
    }
    return undefined;
  }

  children(dir: string): string[] {
    return [...(this.kids.get(dir) ?? [])].sort();
  }

  /** Every entry under `dir` (not itself), parents before children, names sorted. */
  *walk(dir: string): Generator<ContextEntry> {
    for (const name of this.children(dir)) {
      const p = dir ? `${dir}/${name}` : name;
      const e = this.entries.get(p)!;
      yield e;
      if (e.type === 'directory') yield* this.walk(p);
    }
  }

  /** Drop what .dockerignore excludes; the Dockerfile and .dockerignore themselves always stay. */
  applyIgnore(patterns: IgnorePattern[], keep: string[]): void {
    if (patterns.length === 0) return;
    const keepSet = new Set(keep.map(cleanContextPath));
    for (const p of [...this.entries.keys()]) {
      if (p === '' || keepSet.has(p) || !isIgnored(patterns, p)) continue;
      // An excluded directory still holds re-included files: keep it as their parent.
      const e = this.entries.get(p)!;
      if (e.type === 'directory' && [...this.entries.keys()].some((q) => q.startsWith(p + '/') && !isIgnored(patterns, q))) continue;
      this.entries.delete(p);
      const slash = p.lastIndexOf('/');
      this.kids.get(slash < 0 ? '' : p.slice(0, slash))?.delete(p.slice(slash + 1));
    }
  }

  /** Apply the context's own .dockerignore, if it has one. */
  applyDockerignore(dockerfile: string): void {
    const ig = this.entries.get('.dockerignore');
    if (ig?.type !== 'file') return;
    this.applyIgnore(parseDockerignore(ig.data.toString('utf8')), [dockerfile, '.dockerignore']);
  }

  /** Content hash of one entry (files) or of a whole tree (directories). */
  hash(path: string): string {
    const cached = this.hashes.get(path);
    if (cached) return cached;
    const e = this.entries.get(path);
    if (!e) throw new Error(`no such context path ${path}`);
    const h = createHash('sha256');
    h.update(`${e.type}\0${e.mode.toString(8)}\0${e.uid}\0${e.gid}\0${e.linkname}\0`);
    if (e.type === 'directory') {
      for (const name of this.children(path)) h.update(`${name}\0${this.hash(path ? `${path}/${name}` : name)}\n`);
    } else h.update(e.data);
    const out = h.digest('hex');
    this.hashes.set(path, out);
    return out;
  }

  /** Paths matching a wildcard source (Go's filepath.Match per element), sorted. */
  glob(pattern: string): string[] {
    const parts = cleanContextPath(pattern).split('/');
    let cur = [''];
    for (const part of parts) {
      const re = globRe(part);
      const next: string[] = [];
      for (const dir of cur) {
        const e = this.resolve(dir);
        if (!e || e.type !== 'directory') continue;
        for (const name of this.children(this.realPath(dir))) if (re.test(name)) next.push(dir ? `${dir}/${name}` : name);
      }
      cur = next;
    }
    return cur.sort();
  }

  /** The path with symlinks resolved (for listing a directory reached through one). */
  private realPath(path: string): string {
    const e = this.resolve(path);
    return e ? e.path : path;
  }

  get size(): number {
    let n = 0;
    for (const e of this.entries.values()) n += e.data.length;
    return n;
  }
}

export function hasWildcard(s: string): boolean {
  return /[*?[]/.test(s);
}

function globRe(p: string): RegExp {
  let re = '^';
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = p.indexOf(']', i + 1);
      if (end < 0) { re += '\\['; continue; }
      let cls = p.slice(i + 1, end);
      if (cls.startsWith('^') || cls.startsWith('!')) cls = '^' + cls.slice(1);
      re += `[${cls}]`;
      i = end;
    } else if (c === '\\' && i + 1 < p.length) re += p[++i]!.replace(/[.+^${}()|[\]\\*?]/g, '\\$&');
    else re += c.replace(/[.+^${}()|[\]\\*?]/g, '\\$&');
  }
  return new RegExp(re + '$');
}
