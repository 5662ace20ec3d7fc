/**
 * GET /distribution/{name}/json: what the registry holds under a name,
 * without pulling it — the manifest's (or index's) descriptor, and the
 * platforms it serves: an index's entries, or a manifest's config.
 */
import { parseReference, withDefaultTag } from '../../core/reference.js';
import type { AuthConfig } from '../../distribution/auth.js';
import { RepositoryClient } from '../../distribution/client.js';
import { readBody } from '../../distribution/http.js';
import { parseManifest } from '../../distribution/manifest.js';
import type { Platform } from '../../core/wire/descriptor.js';
import type { DistributionService } from './service.js';
import { unreachable } from './pull-errors.js';

export interface DistributionInspect {
  Descriptor: { mediaType: string; digest: string; size: number };
  Platforms: Array<Record<string, unknown>>;
}

/** An OCI platform as dockerd encodes it: empty fields left out. */
function platformJson(p: Partial<Platform> & { 'os.version'?: string; 'os.features'?: string[] }): Record<string, unknown> {
  const out: Record<string, unknown> = { architecture: p.architecture ?? '', os: p.os ?? '' };
  if (p['os.version']) out['os.version'] = p['os.version'];
  if (p['os.features']?.length) out['os.features'] = p['os.features'];
  if (p.variant) out.variant = p.variant;
  return out;
}

export async function inspectDistribution(svc: DistributionService, name: string, auth: AuthConfig | undefined): Promise<DistributionInspect> {
  const ref = withDefaultTag(parseReference(name));
  return svc.withEndpoint(ref.domain, async (ep) => {
    try {
      const client = new RepositoryClient(ep, ref.path, auth);
      const top = await client.getManifest((ref.digest ?? ref.tag)!);
      const Descriptor = { mediaType: top.mediaType, digest: top.digest, size: top.bytes.length };
      const parsed = parseManifest(top.bytes, top.mediaType, ref.path);
      if (parsed.kind === 'index') {
        return { Descriptor, Platforms: parsed.index.manifests.filter((m) => m.platform).map((m) => platformJson(m.platform as Platform)) };
      }
      const { body } = await client.fetchBlob(parsed.manifest.config.digest);
      const cfg = JSON.parse((await readBody(body, 64 << 20)).toString('utf8')) as {
        architecture?: string;
        os?: string;
        variant?: string;
        'os.version'?: string;
        'os.features'?: string[];
      };
      return { Descriptor, Platforms: [platformJson(cfg)] };
    } catch (err) {
      throw unreachable(ep, err);
    }
  });
}
