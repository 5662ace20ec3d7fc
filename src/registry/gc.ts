/**
 * `berth registry gc`: mark and sweep over the registry root. Marks every
 * manifest kept in any repository and everything it references (config,
 * layers, index children, subject); sweeps blobs nothing marked, and the
 * repository links to them. With --delete-untagged, manifests reachable from
 * no tag (directly, as an index child, or as a referrer of a kept manifest)
 * are deleted first. Run it while the registry is stopped or read-only, as
 * with Distribution: an upload finishing during the sweep could lose its blob.
 * On a bucket that live replicas share, the CLI refuses to delete unless the
 * registry is read-only (see cli/commands/registry.ts).
 */
import { FsStorage, type Storage } from './storage.js';
import { parseManifest, referencedDigests } from './manifest.js';

export interface GcOptions {
  dryRun?: boolean;
  deleteUntagged?: boolean;
  out?: (line: string) => void;
  /** Blobs to keep though nothing marks them (uploads a manifest has not named yet, when gc runs live). */
  spare?: (digest: string) => boolean;
}
export interface GcResult {
  marked: number;
  blobsDeleted: string[];
  manifestsDeleted: Array<{ repo: string; digest: string }>;
}

/** Collect garbage in a storage (a filesystem root given as a path). */
export async function collectGarbage(where: string | Storage, opts: GcOptions = {}): Promise<GcResult> {
  const out = opts.out ?? (() => {});
  const storage = typeof where === 'string' ? new FsStorage(where) : where;
  const marked = new Set<string>();
  const manifestsDeleted: GcResult['manifestsDeleted'] = [];

  // A storage error stops gc (it must never read as "nothing referenced"); only an unparsable manifest marks nothing.
  const parsedOf = async (digest: string, mediaType: string) => {
    const body = await storage.readBlob(digest);
    if (!body) return undefined;
    try {
      return parseManifest(body, mediaType);
    } catch {
      return undefined;
    }
  };

  for (const repo of await storage.repositories()) {
    const revisions = await storage.revisions(repo);
    const types = new Map(revisions.map((r) => [r.digest, r.mediaType]));
    const parsed = new Map<string, Awaited<ReturnType<typeof parsedOf>>>();
    for (const r of revisions) parsed.set(r.digest, await parsedOf(r.digest, r.mediaType));

    let keep: Set<string>;
    if (opts.deleteUntagged) {
      keep = new Set((await storage.tags(repo)).map((t) => t.digest).filter((d) => types.has(d)));
      // Close over index children and referrers of kept manifests until nothing changes.
      for (let changed = true; changed; ) {
        changed = false;
        for (const [digest, p] of parsed) {
          if (!p) continue;
          if (keep.has(digest)) {
            for (const c of p.manifests)
              if (types.has(c.digest) && !keep.has(c.digest)) {
                keep.add(c.digest);
                changed = true;
              }
          } else if (p.subject && keep.has(p.subject.digest)) {
            keep.add(digest);
            changed = true;
          }
        }
      }
      for (const r of revisions) {
        if (keep.has(r.digest)) continue;
        out(`${repo}: manifest eligible for deletion: ${r.digest}`);
        manifestsDeleted.push({ repo, digest: r.digest });
        if (!opts.dryRun) await storage.deleteManifest(repo, r.digest, parsed.get(r.digest)?.subject?.digest);
      }
    } else {
      keep = new Set(revisions.map((r) => r.digest));
    }

    for (const digest of keep) {
      out(`${repo}: marking manifest ${digest}`);
      marked.add(digest);
      const p = parsed.get(digest);
      if (!p) continue;
      for (const d of referencedDigests(p)) {
        if (!marked.has(d)) out(`${repo}: marking blob ${d}`);
        marked.add(d);
      }
    }
  }

  const blobsDeleted: string[] = [];
  for (const digest of await storage.allBlobs()) if (!marked.has(digest) && !opts.spare?.(digest)) blobsDeleted.push(digest);
  out(`\n${marked.size} blobs marked, ${blobsDeleted.length} blobs and ${manifestsDeleted.length} manifests eligible for deletion`);
  const doomed = new Set(blobsDeleted);
  for (const digest of blobsDeleted) {
    out(opts.dryRun ? `blob eligible for deletion: ${digest}` : `Deleting blob: ${digest}`);
    if (!opts.dryRun) await storage.removeBlob(digest);
  }
  if (!opts.dryRun) {
    for (const repo of await storage.repositories()) {
      for (const d of await storage.layers(repo)) if (doomed.has(d)) await storage.unlinkLayer(repo, d);
    }
  }
  return { marked: marked.size, blobsDeleted, manifestsDeleted };
}
