/**
 * A streaming tar reader (ustar, GNU long names, PAX), written for layers:
 * unlike general-purpose readers it keeps PAX values as raw bytes, because
 * xattrs such as security.capability are binary and must survive exactly.
 */
import type { Readable } from 'node:stream';
import { InvalidArgumentError } from '../core/errors.js';

export type EntryType = 'file' | 'link' | 'symlink' | 'char' | 'block' | 'directory' | 'fifo';

export interface TarEntry {
  name: string;
  type: EntryType;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch, fractional when PAX gives sub-second precision. */
  mtime: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  xattrs: Map<string, Buffer>;
}

const BLOCK = 512;

function bad(what: string): never {
  throw new InvalidArgumentError(`archive/tar: ${what}`);
}

/** Pulls exact byte counts out of a stream's chunks. */
class ByteReader {
  private it: AsyncIterator<Buffer>;
  private buf: Buffer = Buffer.alloc(0);
  private done = false;
  constructor(input: Readable) {
    this.it = (input as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  }

  private async fill(): Promise<boolean> {
    if (this.done) return false;
    const r = await this.it.next();
    if (r.done) {
      this.done = true;
      return false;
    }
    const chunk = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    return true;
  }

  /** Exactly `n` bytes, or null at a clean end of stream (no bytes at all). */
  async exact(n: number): Promise<Buffer | null> {
    while (this.buf.length < n) {
      if (!(await this.fill())) {
        if (this.buf.length === 0) return null;
        bad('unexpected EOF');
      }
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** The next 1..max bytes; throws if the stream has ended. */
  async chunk(max: number): Promise<Buffer> {
    if (this.buf.length === 0 && !(await this.fill())) bad('unexpected EOF');
    const take = Math.min(max, this.buf.length);
    const out = this.buf.subarray(0, take);
    this.buf = this.buf.subarray(take);
    return out;
  }

  /** Up to `n` bytes as they arrive; throws if the stream ends first. */
  async *chunks(n: number): AsyncGenerator<Buffer> {
    while (n > 0) {
      const out = await this.chunk(n);
      n -= out.length;
      yield out;
    }
  }

  async skip(n: number): Promise<void> {
    for await (const _ of this.chunks(n)) {
      /* discard */
    }
  }

  /** Skip up to `n` bytes; false when the stream ended first. */
  async skipToEnd(n: number): Promise<boolean> {
    while (n > 0) {
      if (this.buf.length === 0 && !(await this.fill())) return false;
      const take = Math.min(n, this.buf.length);
      this.buf = this.buf.subarray(take);
      n -= take;
    }
    return true;
  }

  /** Read whatever is left, so a writer on the other end never blocks. */
  async drain(): Promise<void> {
    this.buf = Buffer.alloc(0);
    while (await this.fill()) this.buf = Buffer.alloc(0);
  }

  async cancel(): Promise<void> {
    await this.it.return?.();
  }
}

function str(b: Buffer, off: number, len: number): string {
  const field = b.subarray(off, off + len);
  const nul = field.indexOf(0);
  return (nul === -1 ? field : field.subarray(0, nul)).toString('utf8');
}

function num(b: Buffer, off: number, len: number): number {
  const field = b.subarray(off, off + len);
  if (field[0]! & 0x80) {
    // GNU base-256: big-endian two's complement with the top bit as marker.
    let v = field[0]! & 0x7f;
    for (let i = 1; i < field.length; i++) v = v * 256 + field[i]!;
    return v;
  }
  const s = field
    .toString('latin1')
    .replace(/[\0 ]+$/g, '')
    .replace(/^[\0 ]+/, '');
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) bad('invalid tar header');
  return parseInt(s, 8);
}

function checksumOk(h: Buffer): boolean {
  const want = num(h, 148, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : h[i]!;
    unsigned += c;
    signed += c > 127 ? c - 256 : c;
  }
  return want === unsigned || want === signed;
}

/** PAX records: "<len> <key>=<value>\n"; values stay bytes. */
function parsePax(data: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let off = 0;
  while (off < data.length) {
    const sp = data.indexOf(0x20, off);
    if (sp === -1) break;
    const len = parseInt(data.subarray(off, sp).toString('latin1'), 10);
    if (!len || off + len > data.length) bad('invalid PAX record');
    const rec = data.subarray(sp + 1, off + len - 1); // without the trailing newline
    const eq = rec.indexOf(0x3d);
    if (eq === -1) bad('invalid PAX record');
    out.set(rec.subarray(0, eq).toString('utf8'), Buffer.from(rec.subarray(eq + 1)));
    off += len;
  }
  return out;
}

/** The header's typeflag byte → entry type; shared with the in-memory reader (tar-buffer.ts). */
export const ENTRY_TYPES: Record<string, EntryType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'link',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'directory',
  '6': 'fifo',
};

async function readBlob(r: ByteReader, size: number): Promise<Buffer> {
  if (size > 16 << 20) bad('header too large');
  const parts: Buffer[] = [];
  for await (const c of r.chunks(size)) parts.push(Buffer.from(c));
  await r.skip((BLOCK - (size % BLOCK)) % BLOCK);
  return Buffer.concat(parts);
}

function applyPax(e: TarEntry, pax: Map<string, Buffer>): void {
  for (const [k, v] of pax) {
    const s = () => v.toString('utf8');
    switch (k) {
      case 'path':
        e.name = s();
        break;
      case 'linkpath':
        e.linkname = s();
        break;
      case 'size':
        e.size = Number(s());
        break;
      case 'uid':
        e.uid = Number(s());
        break;
      case 'gid':
        e.gid = Number(s());
        break;
      case 'mtime':
        e.mtime = Number(s());
        break;
      default:
        if (k.startsWith('SCHILY.xattr.')) e.xattrs.set(k.slice('SCHILY.xattr.'.length), v);
        else if (k.startsWith('LIBARCHIVE.xattr.')) e.xattrs.set(decodeURIComponent(k.slice('LIBARCHIVE.xattr.'.length)), Buffer.from(s(), 'base64'));
    }
  }
}

export interface TarReader {
  /** Next entry; its body must be read with `body()` (or is skipped) before the next call. */
  next(): Promise<TarEntry | null>;
  body(): AsyncGenerator<Buffer>;
  /** Consume the rest of the input (after an error, so the sender is not left blocked). */
  drain(): Promise<void>;
}

export function tarReader(input: Readable): TarReader {
  const r = new ByteReader(input);
  let pending = 0; // unread body bytes of the current entry, plus padding
  let padding = 0;
  let ended = false;

  async function next(): Promise<TarEntry | null> {
    if (ended) return null;
    if (pending > 0) {
      await r.skip(pending);
      pending = 0;
    }
    // An archive that stops right after an entry's data, without padding or end blocks, ends there, as Go's
    // archive/tar reads it (the docker CLI sends such a context when it adds a Dockerfile from stdin).
    if (padding > 0) {
      const more = await r.skipToEnd(padding);
      padding = 0;
      if (!more) {
        ended = true;
        return null;
      }
    }
    let pax = new Map<string, Buffer>();
    let global = new Map<string, Buffer>();
    let longName: string | undefined;
    let longLink: string | undefined;
    for (;;) {
      const h = await r.exact(BLOCK);
      if (h === null) {
        ended = true;
        return null;
      } // tolerate a missing end-of-archive marker
      if (h.every((b) => b === 0)) {
        ended = true;
        return null;
      }
      if (!checksumOk(h)) bad('invalid tar header');
      const flag = String.fromCharCode(h[156]!);
      const size = num(h, 124, 12);
      if (flag === 'x') {
        pax = new Map([...pax, ...parsePax(await readBlob(r, size))]);
        continue;
      }
      if (flag === 'g') {
        global = new Map([...global, ...parsePax(await readBlob(r, size))]);
        continue;
      }
      if (flag === 'L') {
        longName = str(await readBlob(r, size), 0, size);
        continue;
      }
      if (flag === 'K') {
        longLink = str(await readBlob(r, size), 0, size);
        continue;
      }
      const type = ENTRY_TYPES[flag];
      if (!type) {
        // Unsupported kinds (sparse files, volume labels): skip them whole.
        await r.skip(size + ((BLOCK - (size % BLOCK)) % BLOCK));
        pax = new Map();
        longName = longLink = undefined;
        continue;
      }
      const magic = h.subarray(257, 263).toString('latin1');
      let name = str(h, 0, 100);
      if (magic === 'ustar\0') {
        const prefix = str(h, 345, 155);
        if (prefix) name = `${prefix}/${name}`;
      }
      const e: TarEntry = {
        name: longName ?? name,
        type,
        size: type === 'file' ? size : 0,
        mode: num(h, 100, 8) & 0o7777,
        uid: num(h, 108, 8),
        gid: num(h, 116, 8),
        mtime: num(h, 136, 12),
        linkname: longLink ?? str(h, 157, 100),
        devmajor: type === 'char' || type === 'block' ? num(h, 329, 8) : 0,
        devminor: type === 'char' || type === 'block' ? num(h, 337, 8) : 0,
        xattrs: new Map(),
      };
      applyPax(e, global);
      applyPax(e, pax);
      if (!Number.isSafeInteger(e.size) || e.size < 0) bad('invalid size');
      // Non-file entries may still carry data (rare); skip it with the padding.
      const dataSize = type === 'file' ? e.size : size;
      pending = dataSize;
      padding = (BLOCK - (dataSize % BLOCK)) % BLOCK;
      if (type !== 'file') {
        await r.skip(pending + padding);
        pending = padding = 0;
      }
      return e;
    }
  }

  async function* body(): AsyncGenerator<Buffer> {
    // `pending` tracks what is left, so a body read only partly is skipped correctly.
    while (pending > 0) {
      const c = await r.chunk(pending);
      pending -= c.length;
      yield c;
    }
  }

  async function drain(): Promise<void> {
    try {
      await r.drain();
    } catch {
      await r.cancel().catch(() => {});
    }
  }

  return { next, body, drain };
}
