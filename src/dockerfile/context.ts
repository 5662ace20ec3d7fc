/**
 * A build context: a directory tree on disk — an upload the daemon spooled,
 * a git checkout, or (for COPY --from) a stage's mounted rootfs — read only
 * through a `Tree` (archive/tree.ts), so a symlink in it is followed inside
 * it and never out, and no more of it is in memory than the bytes being hashed or copied.
 *
 * Files are hashed lazily and only when a COPY or ADD names them: the cache
 * key of a copy is the hash of what it copies (type, mode, owner, link
 * target and content — never times), so a rebuild hashes only what its
 * instructions use and a touched-but-unchanged file still hits the cache.
 */
import { createHash } from 'node:crypto';
import { closeSync, read, readdirSync, readlinkSync, type Stats } from 'node:fs';
import { promisify } from 'node:util';
import { InvalidArgumentError } from '../core/errors.js';
import { containedName } from '../archive/apply.js';
import { Tree, at, isMissing, lstatAt, openDirAt, removeAllAt, self, type Entry } from '../archive/tree.js';
import { isIgnored, parseDockerignore } from './dockerignore.js';

const readAsync = promisify(read);
const CHUNK = 1 << 20;

export type ContextEntryType = 'file' | 'directory' | 'symlink' | 'other';

export interface ContextEntry {
  /** Clean relative path; '' is the root. */
  path: string;
  type: ContextEntryType;
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch. */
  mtime: number;
  linkname: string;
  /** Bytes of a file's content. */
  size: number;
}

/** A path inside the context as Docker cleans it: relative, no `..` above the root. */
export function cleanContextPath(p: string): string {
  return containedName(p);
}

function entryOf(path: string, st: Stats, link: () => string): ContextEntry {
  const type: ContextEntryType = st.isFile() ? 'file' : st.isDirectory() ? 'directory' : st.isSymbolicLink() ? 'symlink' : 'other';
  return {
    path,
    type,
    mode: st.mode & 0o7777,
    uid: st.uid,
    gid: st.gid,
    mtime: Math.floor(st.mtimeMs / 1000),
    linkname: type === 'symlink' ? link() : '',
    size: type === 'file' ? st.size : 0,
  };
}

function contextEntry(e: Entry | undefined): ContextEntry | undefined {
  return e && entryOf(e.path.slice(1), e.stat, () => e.linkname);
}

export class BuildContext {
  private hashes = new Map<string, string>();
  private constructor(private readonly root: Tree) {}

  /** The tree under `dir`, a directory the daemon made or mounted. Close it when done. */
  static open(dir: string): BuildContext {
    return new BuildContext(Tree.open(dir));
  }

  /** The subdirectory `path` (symlinks followed inside this context) as a context of its own. */
  sub(path: string): BuildContext | undefined {
    try {
      return new BuildContext(this.root.subtree(path));
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw e;
    }
  }

  close(): void {
    this.root.close();
  }

  /** The entry at `path` itself (no symlink followed on the way or at the end). */
  get(path: string): ContextEntry | undefined {
    return contextEntry(this.root.find(path, { noSymlinks: true }));
  }

  /** Follow symlinks (scoped to the context) to the entry a path names. */
  resolve(path: string): ContextEntry | undefined {
    return contextEntry(this.root.find(path, { followLast: true }));
  }

  children(dir: string): string[] {
    return this.root.list(dir).sort();
  }

  /** Every entry under `dir` (not itself), parents before children, names sorted. */
  *walk(dir: string): Generator<ContextEntry> {
    let d: { fd: number; path: string };
    try {
      d = this.root.dir(dir);
    } catch (e) {
      if (isMissing(e)) return;
      throw e;
    }
    try {
      yield* walkTree(d.fd, d.path.slice(1));
    } finally {
      this.root.release(d.fd);
    }
  }

  /** A file's bytes, read through a handle: exactly its recorded size (zeros if it shrank meanwhile). */
  async *content(e: ContextEntry): AsyncGenerator<Buffer> {
    const fd = this.root.openFile(e.path);
    if (fd === null) throw new InvalidArgumentError(`file ${e.path} is gone from the build context`);
    try {
      for (let pos = 0; pos < e.size; ) {
        const buf = Buffer.alloc(Math.min(CHUNK, e.size - pos));
        const { bytesRead } = await readAsync(fd, buf, 0, buf.length, pos);
        if (bytesRead === 0) {
          yield Buffer.alloc(e.size - pos);
          return;
        }
        pos += bytesRead;
        yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
      }
    } finally {
      closeSync(fd);
    }
  }

  /** A small file (a Dockerfile, a .dockerignore) whole. */
  async readFile(e: ContextEntry): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const c of this.content(e)) parts.push(c);
    return Buffer.concat(parts);
  }

  /**
   * The daemon's part of .dockerignore, as dockerd's: the client has already
   * left out what the patterns exclude, so only .dockerignore itself and the
   * Dockerfile go, when a pattern names them (the docker CLI lists a
   * Dockerfile it added under a name of its own there); the rest of the
   * context stays as the client sent it.
   */
  async removeIgnoredControlFiles(dockerfile: string): Promise<void> {
    const ig = this.get('.dockerignore');
    if (ig?.type !== 'file') return;
    let patterns;
    // Patterns dockerd cannot read remove nothing, as there.
    try {
      patterns = parseDockerignore((await this.readFile(ig)).toString('utf8'));
    } catch {
      return;
    }
    for (const p of ['.dockerignore', cleanContextPath(dockerfile)]) {
      if (isIgnored(patterns, p)) this.remove(p);
    }
    this.hashes.clear();
  }

  /** Remove the entry at `path` (a symlink itself, not what it points to). */
  private remove(path: string): void {
    let f;
    try {
      f = this.root.lookup(path);
    } catch (e) {
      if (isMissing(e)) return;
      throw e;
    }
    try {
      if (f.name !== '') removeAllAt(f.dirfd, f.name);
    } finally {
      this.root.release(f.dirfd);
    }
  }

  /** Content hash of one entry (files) or of a whole tree (directories). */
  async hash(path: string): Promise<string> {
    const key = cleanContextPath(path);
    const cached = this.hashes.get(key);
    if (cached) return cached;
    const out = await this.hashOf(key);
    this.hashes.set(key, out);
    return out;
  }

  // Only the paths COPY names are cached: a tree's inner hashes would make memory grow with the context.
  private async hashOf(path: string): Promise<string> {
    const e = this.get(path);
    if (!e) throw new InvalidArgumentError(`no such context path ${path}`);
    const h = createHash('sha256');
    h.update(`${e.type}\0${e.mode.toString(8)}\0${e.uid}\0${e.gid}\0${e.linkname}\0`);
    if (e.type === 'directory') {
      for (const name of this.children(path)) h.update(`${name}\0${await this.hashOf(path ? `${path}/${name}` : name)}\n`);
    } else if (e.type === 'file') {
      for await (const c of this.content(e)) h.update(c);
    }
    return h.digest('hex');
  }

  /** Paths matching a wildcard source (Go's filepath.Match per element), sorted. */
  glob(pattern: string): string[] {
    const parts = cleanContextPath(pattern).split('/').filter(Boolean);
    let cur = [''];
    for (const part of parts) {
      const re = globRe(part);
      const next: string[] = [];
      for (const dir of cur) {
        const e = this.resolve(dir);
        if (e?.type !== 'directory') continue;
        for (const name of this.children(e.path)) if (re.test(name)) next.push(dir ? `${dir}/${name}` : name);
      }
      cur = next;
    }
    return cur.sort();
  }
}

/** A directory handle's child, opened without following a symlink; undefined when it is gone or no directory now. */
function childDir(fd: number, name: string): number | undefined {
  try {
    return openDirAt(fd, name);
  } catch (e) {
    if (isMissing(e)) return undefined;
    throw e;
  }
}

function* walkTree(fd: number, rel: string): Generator<ContextEntry> {
  for (const name of readdirSync(self(fd)).sort()) {
    const p = rel ? `${rel}/${name}` : name;
    const st = lstatAt(fd, name);
    if (!st) continue;
    const e = entryOf(p, st, () => readlinkSync(at(fd, name)));
    yield e;
    if (e.type !== 'directory') continue;
    const child = childDir(fd, name);
    if (child !== undefined)
      try {
        yield* walkTree(child, p);
      } finally {
        closeSync(child);
      }
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
      if (end < 0) {
        re += '\\[';
        continue;
      }
      let cls = p.slice(i + 1, end);
      if (cls.startsWith('^') || cls.startsWith('!')) cls = '^' + cls.slice(1);
      re += `[${cls}]`;
      i = end;
    } else if (c === '\\' && i + 1 < p.length) re += p[++i]!.replace(/[.+^${}()|[\]\\*?]/g, '\\$&');
    else re += c.replace(/[.+^${}()|[\]\\*?]/g, '\\$&');
  }
  return new RegExp(re + '$');
}
