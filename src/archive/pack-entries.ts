/**
 * A layer tar from a list of entries (build steps that write files
 * directly: COPY, ADD, WORKDIR): each file's bytes are read from disk as
 * the tar is written.
 */
import { createReadStream } from 'node:fs';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tarStream from 'tar-stream';

export interface PackEntry {
  name: string;
  type: 'file' | 'directory' | 'symlink' | 'link';
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
  /** For files: where the bytes are, or the bytes. */
  source?: string;
  data?: Buffer;
  size?: number;
  linkname?: string;
}

export function packEntries(entries: PackEntry[]): Readable {
  const pack = tarStream.pack();
  const out = new PassThrough();
  pack.pipe(out);
  void (async () => {
    for (const e of entries) {
      const h: Partial<tarStream.Header> & { name: string } = { name: e.name, type: e.type, mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime, ...(e.linkname ? { linkname: e.linkname } : {}) };
      await new Promise<void>((resolve, reject) => {
        if (e.type !== 'file') { pack.entry({ ...h, size: 0 }, (err) => (err ? reject(err) : resolve())); return; }
        if (e.data || !e.source) { pack.entry({ ...h, size: e.data?.length ?? 0 }, e.data ?? Buffer.alloc(0), (err) => (err ? reject(err) : resolve())); return; }
        const w = pack.entry({ ...h, size: e.size ?? 0 }, (err) => (err ? reject(err) : resolve()));
        pipeline(createReadStream(e.source), w).catch(reject);
      });
    }
    pack.finalize();
  })().catch((err) => out.destroy(err as Error));
  return out;
}
