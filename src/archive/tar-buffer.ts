/**
 * Reading a whole tar held in memory: entries point into the buffer (no
 * copies), which is what a build context wants — hashed, looked up by path
 * and copied many times, never unpacked to disk as a whole.
 */
import { InvalidArgumentError } from '../core/errors.js';
import { ENTRY_TYPES, type EntryType, type TarEntry } from './tar-reader.js';

export interface BufferEntry extends TarEntry {
  data: Buffer;
}

function str(b: Buffer, off: number, len: number): string {
  const end = b.indexOf(0, off);
  return b.toString('utf8', off, end < 0 || end > off + len ? off + len : end);
}

function num(b: Buffer, off: number, len: number): number {
  if (b[off]! & 0x80) {
    let v = 0;
    for (let i = off + 1; i < off + len; i++) v = v * 256 + b[i]!;
    return v;
  }
  const s = b
    .toString('ascii', off, off + len)
    .replace(/\0.*$/s, '')
    .trim();
  return s ? parseInt(s, 8) : 0;
}

function parsePax(body: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let i = 0;
  while (i < body.length) {
    const sp = body.indexOf(0x20, i);
    if (sp < 0) break;
    const len = parseInt(body.toString('ascii', i, sp), 10);
    if (!(len > 0)) throw new InvalidArgumentError('archive/tar: invalid PAX record');
    const rec = body.subarray(sp + 1, i + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq > 0) out.set(rec.toString('utf8', 0, eq), rec.subarray(eq + 1));
    i += len;
  }
  return out;
}

/** Is this buffer a tar archive (a valid first header checksum)? */
export function looksLikeTar(b: Buffer): boolean {
  if (b.length < 512) return false;
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : b[i]!;
  return num(b, 148, 8) === sum;
}

export function* readTarBuffer(b: Buffer): Generator<BufferEntry> {
  let off = 0;
  let pax: Map<string, Buffer> | undefined;
  let longName: string | undefined;
  let longLink: string | undefined;
  while (off + 512 <= b.length) {
    const h = b.subarray(off, off + 512);
    if (h.every((x) => x === 0)) break;
    const type = String.fromCharCode(h[156]!);
    let size = num(h, 124, 12);
    if (pax?.has('size')) size = Number(pax.get('size')!.toString());
    const data = b.subarray(off + 512, off + 512 + size);
    if (data.length < size) throw new InvalidArgumentError('archive/tar: unexpected EOF');
    off += 512 + size + ((512 - (size % 512)) % 512);
    if (type === 'x') {
      pax = parsePax(data);
      continue;
    }
    if (type === 'g') continue;
    if (type === 'L') {
      longName = str(data, 0, data.length);
      continue;
    }
    if (type === 'K') {
      longLink = str(data, 0, data.length);
      continue;
    }
    const et = ENTRY_TYPES[type];
    let name = str(h, 0, 100);
    const magic = h.toString('ascii', 257, 262);
    if (magic === 'ustar') {
      const prefix = str(h, 345, 155);
      if (prefix) name = `${prefix}/${name}`;
    }
    if (longName !== undefined) name = longName;
    if (pax?.has('path')) name = pax.get('path')!.toString('utf8');
    let linkname = longLink ?? str(h, 157, 100);
    if (pax?.has('linkpath')) linkname = pax.get('linkpath')!.toString('utf8');
    const xattrs = new Map<string, Buffer>();
    let mtime = num(h, 136, 12);
    let uid = num(h, 108, 8);
    let gid = num(h, 116, 8);
    if (pax) {
      for (const [k, v] of pax) if (k.startsWith('SCHILY.xattr.')) xattrs.set(k.slice(13), v);
      if (pax.has('mtime')) mtime = Number(pax.get('mtime')!.toString());
      if (pax.has('uid')) uid = Number(pax.get('uid')!.toString());
      if (pax.has('gid')) gid = Number(pax.get('gid')!.toString());
    }
    pax = undefined;
    longName = undefined;
    longLink = undefined;
    if (!et) continue; // sparse files and other rarities are not build-context material
    const t: EntryType = et === 'file' && name.endsWith('/') ? 'directory' : et;
    yield {
      name,
      type: t,
      size: t === 'file' ? size : 0,
      mode: num(h, 100, 8) & 0o7777,
      uid,
      gid,
      mtime,
      linkname,
      devmajor: num(h, 329, 8),
      devminor: num(h, 337, 8),
      xattrs,
      data: t === 'file' ? data : Buffer.alloc(0),
    };
  }
}
