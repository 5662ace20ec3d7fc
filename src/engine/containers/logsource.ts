/**
 * One container log file on disk, as the log reader sees it: opened with the
 * offset reached, read forward in chunks of k8s-file lines, read backward for
 * a tail, and checked for being replaced or restarted.
 *
 * When `--log-size-max` is exceeded conmon starts the file over (observed on
 * conmon 2.1.6: same path, old content gone, size shrinks; the inode may or may
 * not change). A follower therefore checks inode, size and the file's first
 * bytes, and restarts from offset 0 when any of them says "new file".
 */
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { parseK8sLine, type K8sEntry, type LogStream } from '../../runtime/k8s-file.js';

const NL = 0x0a;
const CHUNK = 64 * 1024;
/** Bytes of the file head remembered to spot an in-place restart: one timestamp's worth. */
export const SIG_LEN = 36;

/** An open log file and how far we have read it. */
export interface Source {
  fh: FileHandle;
  dev: number;
  ino: number;
  offset: number;
  /** Bytes after the last newline read so far (a line still being written). */
  rest: Buffer;
  /** The file's first bytes, once known, to recognise a restarted file. */
  sig: Buffer | null;
}

export async function openSource(path: string, offset = 0): Promise<Source | null> {
  let fh: FileHandle;
  try {
    fh = await fsp.open(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  const st = await fh.stat();
  return { fh, dev: st.dev, ino: st.ino, offset, rest: Buffer.alloc(0), sig: null };
}

export async function pread(fh: FileHandle, len: number, pos: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(len);
  const { bytesRead } = await fh.read(buf, 0, len, pos);
  return buf.subarray(0, bytesRead);
}

/** Reads one chunk onward from src.offset; returns the parsed entries, or null at EOF. */
export async function readChunk(src: Source): Promise<K8sEntry[] | null> {
  const buf = await pread(src.fh, CHUNK, src.offset);
  if (buf.length === 0) return null;
  // Remember the head of the file as we first read it, to notice a restart.
  if (src.offset === 0 && buf.length >= SIG_LEN) src.sig = Buffer.from(buf.subarray(0, SIG_LEN));
  src.offset += buf.length;
  const data = src.rest.length ? Buffer.concat([src.rest, buf]) : buf;
  const out: K8sEntry[] = [];
  let start = 0;
  for (let nl = data.indexOf(NL); nl >= 0; nl = data.indexOf(NL, start)) {
    const e = parseK8sLine(data.subarray(start, nl));
    if (e) out.push(e);
    start = nl + 1;
  }
  // Copy the remainder so the (possibly large) chunk can be freed.
  src.rest = Buffer.from(data.subarray(start));
  return out;
}

/**
 * Has the file at `path` been replaced or restarted since `src` was opened?
 * `changed` says the caller must read `src` (possibly a new one) from 0 on.
 * A vanished path keeps what we hold: the container may just be removed.
 */
export async function checkReplaced(path: string, src: Source | null): Promise<{ src: Source | null; changed: boolean }> {
  let st;
  try {
    st = await fsp.stat(path);
  } catch {
    return { src, changed: false };
  }
  if (!src || st.ino !== src.ino || st.dev !== src.dev) {
    const fresh = await openSource(path);
    return { src: fresh ?? src, changed: fresh !== null };
  }
  let restarted = st.size < src.offset;
  if (!restarted && src.sig) restarted = !(await pread(src.fh, SIG_LEN, 0)).equals(src.sig);
  if (restarted) {
    src.offset = 0;
    src.rest = Buffer.alloc(0);
    src.sig = null;
    return { src, changed: true };
  }
  // A file first read while shorter than SIG_LEN: remember its head now.
  if (!src.sig && src.offset >= SIG_LEN) src.sig = await pread(src.fh, SIG_LEN, 0);
  return { src, changed: false };
}

/**
 * Lines of the file before `end`, last first, with the offset each starts at.
 * Reads backwards in chunks so a tail never loads the whole file.
 */
async function* linesBackward(fh: FileHandle, end: number): AsyncGenerator<{ line: Buffer; start: number }> {
  let pos = end;
  let carry: Buffer = Buffer.alloc(0);
  while (pos > 0) {
    const n = Math.min(CHUNK, pos);
    pos -= n;
    const buf = await pread(fh, n, pos);
    const data = carry.length ? Buffer.concat([buf, carry]) : buf;
    let stop = data.length;
    for (let nl = data.lastIndexOf(NL, stop - 1); nl >= 0; nl = stop > 0 ? data.lastIndexOf(NL, stop - 1) : -1) {
      yield { line: data.subarray(nl + 1, stop), start: pos + nl + 1 };
      stop = nl;
    }
    carry = data.subarray(0, stop);
  }
  if (carry.length) yield { line: carry, start: 0 };
}

/**
 * The entries that make up the last `n` records of the log, whichever their
 * stream (dockerd counts the tail before it picks streams, so `--tail 2` of
 * stdout may show one line), oldest first, and the offset where forward
 * reading goes on (after the last complete line).
 */
export async function tailEntries(src: Source, n: number): Promise<{ entries: K8sEntry[]; offset: number }> {
  const size = (await src.fh.stat()).size;
  const entries: K8sEntry[] = [];
  // A last line without its newline is still being written: leave it for
  // the forward reader, which goes on from `offset`.
  let offset = size;
  const lastByte = size > 0 ? (await pread(src.fh, 1, size - 1))[0] : NL;
  let first = true;
  // Walking backwards, an F closes a record (it is the record's last piece)
  // and the P pieces before it, up to the previous F of the same stream,
  // belong to it. `open` holds streams whose earliest counted record may
  // still have pieces further back.
  let count = 0;
  const open = new Set<LogStream>();
  for await (const { line, start } of linesBackward(src.fh, size)) {
    if (first) {
      first = false;
      if (lastByte !== NL) {
        offset = start;
        continue;
      }
    }
    if (n <= 0) break;
    const e = parseK8sLine(line);
    if (!e) continue;
    if (open.has(e.stream)) {
      if (e.partial) {
        entries.push(copyEntry(e));
        continue;
      }
      if (count >= n) {
        // This F ends an older record: this stream is complete.
        open.delete(e.stream);
        if (open.size === 0) break;
        continue;
      }
      count++;
      entries.push(copyEntry(e));
      continue;
    }
    // First line seen of this stream: a record (or a trailing unterminated run).
    if (count >= n) continue;
    count++;
    open.add(e.stream);
    entries.push(copyEntry(e));
  }
  return { entries: entries.reverse(), offset };
}

function copyEntry(e: K8sEntry): K8sEntry {
  return { ...e, content: Buffer.from(e.content) };
}
