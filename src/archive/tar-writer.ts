/**
 * Tar headers (ustar, with PAX records for long names, big numbers and
 * xattrs), encoded synchronously so a producer can emit thousands of
 * entries without a stream per entry. Used for layer tars made from a
 * writable layer and for build contexts.
 */
import type { EntryType } from './tar-reader.js';

export interface TarHeader {
  name: string;
  type: EntryType;
  size?: number;
  mode: number;
  uid?: number;
  gid?: number;
  /** Seconds since the epoch. */
  mtime: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Map<string, Buffer>;
  uname?: string;
  gname?: string;
}

const TYPEFLAG: Record<EntryType, string> = { file: '0', link: '1', symlink: '2', char: '3', block: '4', directory: '5', fifo: '6' };
export const TAR_END = Buffer.alloc(1024);

function octal(buf: Buffer, off: number, len: number, v: number): boolean {
  const s = Math.floor(v).toString(8);
  if (s.length > len - 1) return false;
  buf.write(s.padStart(len - 1, '0'), off, 'ascii');
  buf[off + len - 1] = 0;
  return true;
}

function paxRecord(key: string, value: Buffer): Buffer {
  const rest = Buffer.byteLength(key) + value.length + 3; // ' ' '=' '\n'
  let len = rest + String(rest).length;
  if (String(len).length !== String(rest).length) len = rest + String(len).length;
  return Buffer.concat([Buffer.from(`${len} ${key}=`), value, Buffer.from('\n')]);
}

function ustar(h: TarHeader, name: string, prefix: string, linkname: string, typeflag: string, size: number): Buffer {
  const b = Buffer.alloc(512);
  b.write(name, 0, 100, 'utf8');
  octal(b, 100, 8, h.mode & 0o7777);
  octal(b, 108, 8, h.uid ?? 0) || octal(b, 108, 8, 0);
  octal(b, 116, 8, h.gid ?? 0) || octal(b, 116, 8, 0);
  octal(b, 124, 12, size) || octal(b, 124, 12, 0);
  octal(b, 136, 12, Math.max(0, h.mtime)) || octal(b, 136, 12, 0);
  b.write(typeflag, 156, 1, 'ascii');
  b.write(linkname, 157, 100, 'utf8');
  b.write('ustar\u000000', 257, 8, 'binary');
  if (h.uname) b.write(h.uname, 265, 32, 'utf8');
  if (h.gname) b.write(h.gname, 297, 32, 'utf8');
  octal(b, 329, 8, h.devmajor ?? 0);
  octal(b, 337, 8, h.devminor ?? 0);
  b.write(prefix, 345, 155, 'utf8');
  b.fill(' ', 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += b[i]!;
  b.write(sum.toString(8).padStart(6, '0') + '\u0000 ', 148, 8, 'binary');
  return b;
}

/** Split a long name into ustar's prefix and name fields, if it fits. */
function splitName(name: string): [string, string] | undefined {
  if (Buffer.byteLength(name) <= 100) return ['', name];
  for (let i = name.indexOf('/'); i >= 0; i = name.indexOf('/', i + 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 && rest.length > 0) return [prefix, rest];
  }
  return undefined;
}

/** The header block(s) for one entry: a PAX header first when ustar cannot hold it. */
export function encodeHeader(h: TarHeader): Buffer {
  const size = h.type === 'file' ? (h.size ?? 0) : 0;
  const linkname = h.linkname ?? '';
  const pax: Buffer[] = [];
  const split = splitName(h.name);
  if (!split || /[^\x20-\x7e]/.test(h.name)) pax.push(paxRecord('path', Buffer.from(h.name)));
  if (Buffer.byteLength(linkname) > 100 || /[^\x20-\x7e]/.test(linkname)) pax.push(paxRecord('linkpath', Buffer.from(linkname)));
  if (size > 0o77777777777) pax.push(paxRecord('size', Buffer.from(String(size))));
  if ((h.uid ?? 0) > 0o7777777) pax.push(paxRecord('uid', Buffer.from(String(h.uid))));
  if ((h.gid ?? 0) > 0o7777777) pax.push(paxRecord('gid', Buffer.from(String(h.gid))));
  if (h.xattrs) for (const [k, v] of h.xattrs) pax.push(paxRecord(`SCHILY.xattr.${k}`, v));
  const [prefix, name] = split ?? ['', h.name.slice(0, 100)];
  const main = ustar(h, name, prefix, linkname.slice(0, 100), TYPEFLAG[h.type], size);
  if (pax.length === 0) return main;
  const body = Buffer.concat(pax);
  const paxHdr = ustar({ name: '', type: 'file', mode: 0o644, mtime: h.mtime }, `PaxHeaders.0/${name}`.slice(0, 100), '', '', 'x', body.length);
  return Buffer.concat([paxHdr, body, Buffer.alloc(padding(body.length)), main]);
}

/** Zero bytes that round `size` up to a whole block. */
export function padding(size: number): number {
  return (512 - (size % 512)) % 512;
}
