/**
 * Copy one repository's tags between this registry's storage and a remote
 * registry, in either direction, resuming where an earlier run stopped:
 * every blob and manifest the destination already holds is skipped, blobs
 * go before the manifests that name them and children before their index,
 * and a tag is written last, so a run killed at any point leaves the
 * destination consistent and the next run continues.
 */
import type { Readable } from 'node:stream';
import type { RepositoryClient } from '../../distribution/client.js';
import { parseManifest, referrerDescriptor, isForeign, type ParsedManifest } from '../manifest.js';
import type { Storage } from '../storage.js';

export interface CopyStats {
  tagsCopied: number;
  tagsSkipped: number;
  manifestsCopied: number;
  blobsCopied: number;
  blobsSkipped: number;
  bytes: number;
}

export function emptyStats(): CopyStats {
  return { tagsCopied: 0, tagsSkipped: 0, manifestsCopied: 0, blobsCopied: 0, blobsSkipped: 0, bytes: 0 };
}

export function addStats(a: CopyStats, b: CopyStats): void {
  for (const k of Object.keys(a) as Array<keyof CopyStats>) a[k] += b[k];
}

interface Manifest {
  digest: string;
  bytes: Buffer;
  mediaType: string;
  parsed: ParsedManifest;
}

/** One side of a copy: where manifests and blobs are read from or written to. */
interface Side {
  hasManifest(digest: string): Promise<boolean>;
  tagDigest(tag: string): Promise<string | undefined>;
  manifest(ref: string): Promise<Manifest>;
  hasBlob(digest: string): Promise<boolean>;
  openBlob(digest: string, size: number): Promise<Readable>;
  putBlob(digest: string, size: number, body: Readable): Promise<void>;
  putManifest(m: Manifest, tag?: string): Promise<void>;
}

export function localSide(storage: Storage, repo: string): Side {
  return {
    hasManifest: (d) => storage.hasManifest(repo, d),
    tagDigest: async (tag) => (await storage.getManifest(repo, tag, false))?.digest,
    async manifest(ref) {
      const m = await storage.getManifest(repo, ref, ref.includes(':'));
      if (!m) throw new Error(`${repo}@${ref}: manifest unknown`);
      return { digest: m.digest, bytes: m.body, mediaType: m.mediaType, parsed: parseManifest(m.body, m.mediaType) };
    },
    async hasBlob(d) {
      if ((await storage.repoBlobSize(repo, d)) !== undefined) return true;
      // The bytes are here for another repository: a link is all this one needs.
      if ((await storage.blobSize(d)) === undefined) return false;
      await storage.linkLayer(repo, d);
      return true;
    },
    openBlob: async (d) => storage.openBlob(d),
    async putBlob(d, _size, body) {
      const u = await storage.startUpload(repo, d.slice(0, d.indexOf(':')));
      try {
        await storage.lockUpload(u.id, async () => {
          await storage.appendUpload(u, body);
          await storage.completeUpload(u, d);
        });
      } catch (err) {
        body.destroy();
        await storage.cancelUpload(u.id).catch(() => {});
        throw err;
      }
    },
    async putManifest(m, tag) {
      const referrer = m.parsed.subject ? referrerDescriptor(m.parsed, m.digest, m.bytes.length) : undefined;
      await storage.putManifest(repo, m.bytes, m.digest, m.parsed, tag ? [tag] : [], referrer);
    },
  };
}

export function remoteSide(client: RepositoryClient): Side {
  return {
    hasManifest: async (d) => (await client.headManifest(d)) !== undefined,
    tagDigest: (tag) => client.headManifest(tag),
    async manifest(ref) {
      const m = await client.getManifest(ref);
      return { digest: m.digest, bytes: m.bytes, mediaType: m.mediaType, parsed: parseManifest(m.bytes, m.mediaType) };
    },
    hasBlob: (d) => client.blobExists(d),
    openBlob: async (d) => (await client.fetchBlob(d)).body,
    async putBlob(d, size, body) {
      const session = await client.startUpload();
      await client.putBlob(session, d, size, body);
    },
    async putManifest(m, tag) {
      await client.putManifest(tag ?? m.digest, m.bytes, m.mediaType);
    },
  };
}

export type Progress = (line: string) => void;

/** Blobs copied at once (as docker pushes three layers at a time). */
const BLOB_STREAMS = 3;

/** Copy a manifest and everything it names, skipping what `dst` has. */
async function copyTree(src: Side, dst: Side, m: Manifest, st: CopyStats, out: Progress, depth = 0): Promise<void> {
  if (depth > 4) throw new Error(`index nesting deeper than 4 at ${m.digest}`);
  for (const child of m.parsed.manifests) {
    if (await dst.hasManifest(child.digest)) continue;
    const cm = await src.manifest(child.digest);
    await copyTree(src, dst, cm, st, out, depth + 1);
    await dst.putManifest(cm);
    st.manifestsCopied++;
  }
  // Blobs go BLOB_STREAMS at a time; the manifest waits for all of them.
  const queue = m.parsed.blobs.filter((b) => !isForeign(b));
  const worker = async () => {
    for (let b = queue.shift(); b; b = queue.shift()) {
      if (await dst.hasBlob(b.digest)) {
        st.blobsSkipped++;
        continue;
      }
      await dst.putBlob(b.digest, b.size, await src.openBlob(b.digest, b.size));
      st.blobsCopied++;
      st.bytes += b.size;
      out(`  blob ${b.digest} (${b.size} bytes) copied`);
    }
  };
  const results = await Promise.allSettled(Array.from({ length: BLOB_STREAMS }, worker));
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
}

/** Copy `tags` from `src` to `dst`; each tag whose digest already matches is skipped. */
export async function copyTags(src: Side, dst: Side, tags: string[], out: Progress): Promise<CopyStats> {
  const st = emptyStats();
  for (const tag of tags) {
    const want = await src.tagDigest(tag);
    if (want && (await dst.tagDigest(tag)) === want) {
      st.tagsSkipped++;
      continue;
    }
    const m = await src.manifest(want ?? tag);
    await copyTree(src, dst, m, st, out);
    await dst.putManifest(m, tag);
    st.manifestsCopied++;
    st.tagsCopied++;
    out(`  tag ${tag} → ${m.digest}`);
  }
  return st;
}

export type { Side };
