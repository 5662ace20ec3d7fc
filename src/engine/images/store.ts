/**
 * The image metadata and reference store.
 *
 *   <data-root>/images/db/<idhex>.json   one ImageRecord per image
 *   <data-root>/images/references.json   full reference → image ID
 *
 * Everything is held in memory and written through atomically; one mutex
 * serialises changes so a crash leaves either the old or the new state.
 */
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type Digest, hexOf } from '../../core/digest.js';
import { writeJsonAtomic, fsyncDir } from '../../core/atomic.js';
import { Mutex } from '../../core/mutex.js';
import type { ImageRecord } from './types.js';

/** A stored reference key names a tag (`repo:tag`), not a digest (`repo@sha256:…`). */
export function isTagged(ref: string): boolean {
  return !ref.includes('@');
}

export class ImageStore {
  private readonly dbDir: string;
  private readonly refsPath: string;
  private images = new Map<Digest, ImageRecord>();
  /** Full reference string ("docker.io/library/busybox:latest", "…@sha256:…") → image ID. */
  private refs = new Map<string, Digest>();
  readonly lock = new Mutex();

  constructor(root: string) {
    this.dbDir = join(root, 'db');
    this.refsPath = join(root, 'references.json');
  }

  async init(): Promise<void> {
    await mkdir(this.dbDir, { recursive: true, mode: 0o700 });
    for (const name of await readdir(this.dbDir)) {
      if (!/^[a-f0-9]{64}\.json$/.test(name)) {
        await rm(join(this.dbDir, name), { force: true }); // temp file of an interrupted write
        continue;
      }
      try {
        const rec = JSON.parse(await readFile(join(this.dbDir, name), 'utf8')) as ImageRecord;
        this.images.set(rec.id, rec);
      } catch {
        // A record that does not parse was never completely written; drop it.
        await rm(join(this.dbDir, name), { force: true });
      }
    }
    try {
      const raw = JSON.parse(await readFile(this.refsPath, 'utf8')) as Record<string, Digest>;
      for (const [k, v] of Object.entries(raw)) if (this.images.has(v)) this.refs.set(k, v);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  get(id: Digest): ImageRecord | undefined {
    return this.images.get(id);
  }
  has(id: Digest): boolean {
    return this.images.has(id);
  }
  list(): ImageRecord[] {
    return [...this.images.values()];
  }

  async put(rec: ImageRecord): Promise<void> {
    await writeJsonAtomic(join(this.dbDir, hexOf(rec.id) + '.json'), rec, 0o600);
    this.images.set(rec.id, rec);
  }

  /** Remove an image record and every reference to it. */
  async delete(id: Digest): Promise<void> {
    let changed = false;
    for (const [k, v] of this.refs)
      if (v === id) {
        this.refs.delete(k);
        changed = true;
      }
    if (changed) await this.saveRefs();
    this.images.delete(id);
    await rm(join(this.dbDir, hexOf(id) + '.json'), { force: true });
    await fsyncDir(this.dbDir);
  }

  resolveRef(ref: string): Digest | undefined {
    return this.refs.get(ref);
  }

  /** References pointing at an image, in insertion order. */
  refsOf(id: Digest): string[] {
    const out: string[] = [];
    for (const [k, v] of this.refs) if (v === id) out.push(k);
    return out;
  }

  allRefs(): Map<string, Digest> {
    return this.refs;
  }

  /** Point `ref` at `id`; returns the image it pointed at before, if another. */
  async setRef(ref: string, id: Digest): Promise<Digest | undefined> {
    const prev = this.refs.get(ref);
    this.refs.set(ref, id);
    await this.saveRefs();
    return prev !== id ? prev : undefined;
  }

  async removeRef(ref: string): Promise<boolean> {
    if (!this.refs.delete(ref)) return false;
    await this.saveRefs();
    return true;
  }

  private async saveRefs(): Promise<void> {
    await writeJsonAtomic(this.refsPath, Object.fromEntries(this.refs), 0o600);
  }
}
