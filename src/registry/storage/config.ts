/**
 * Which storage driver `berth registry serve` uses, from flags and the config
 * file's `storage` key. The file mirrors Distribution's key names:
 *
 *   "storage": {
 *     "s3": { "bucket": "registry", "region": "us-east-1", "regionendpoint": "http://minio:9000",
 *             "rootdirectory": "/berth", "forcepathstyle": true },
 *     "redirect": { "disable": false }
 *   }
 *
 * Without an `s3` section (or with `"filesystem": {}`) the filesystem driver
 * keeps the data under `root`. Redirects to presigned URLs are off unless
 * `--s3-redirect` or `redirect.disable: false` asks for them (Distribution turns
 * them on by default; a client that cannot reach the bucket then fails).
 * Credentials are never read here: the AWS SDK's default chain finds them
 * (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, ~/.aws/credentials, …).
 */
export interface S3Settings {
  bucket: string;
  region: string;
  /** Endpoint URL of an S3-compatible server; AWS's own when absent. */
  endpoint?: string;
  /** Key prefix, '' or ending in '/'. */
  prefix: string;
  forcePathStyle: boolean;
  redirect: boolean;
}

export type StorageConfig = { driver: 'filesystem' } | { driver: 's3'; s3: S3Settings };

export interface StorageFlags {
  storage?: string;
  s3Endpoint?: string;
  s3Bucket?: string;
  s3Region?: string;
  s3Prefix?: string;
  s3PathStyle?: boolean;
  s3Redirect?: boolean;
}

export class StorageConfigError extends Error {}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new StorageConfigError(`${what} must be an object`);
  return v as Record<string, unknown>;
}

function str(v: unknown, what: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new StorageConfigError(`${what} must be a string`);
  return v;
}

function bool(v: unknown, what: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new StorageConfigError(`${what} must be true or false`);
  return v;
}

/** `/a/b/` or `a/b` → `a/b/`; `` or `/` → ``. */
export function normalizePrefix(p: string | undefined): string {
  const parts = (p ?? '').split('/').filter((s) => s !== '');
  if (parts.some((s) => s === '.' || s === '..')) throw new StorageConfigError(`invalid S3 prefix "${p}"`);
  return parts.length ? `${parts.join('/')}/` : '';
}

export function parseStorageConfig(fileStorage: unknown, flags: StorageFlags): StorageConfig {
  const fs = obj(fileStorage, 'storage');
  for (const k of Object.keys(fs)) {
    if (!['filesystem', 's3', 'redirect'].includes(k)) throw new StorageConfigError(`config: unknown key "storage.${k}"`);
  }
  const f3 = obj(fs.s3, 'storage.s3');
  for (const k of Object.keys(f3)) {
    if (!['bucket', 'region', 'regionendpoint', 'rootdirectory', 'forcepathstyle'].includes(k)) {
      throw new StorageConfigError(`config: unknown key "storage.s3.${k}"`);
    }
  }
  const redirect = obj(fs.redirect, 'storage.redirect');
  const driver = flags.storage ?? (fs.s3 !== undefined ? 's3' : 'filesystem');
  if (driver !== 'filesystem' && driver !== 's3') throw new StorageConfigError(`invalid storage driver "${driver}": expected filesystem or s3`);
  if (driver === 'filesystem') return { driver };
  const bucket = flags.s3Bucket ?? str(f3.bucket, 'storage.s3.bucket');
  if (!bucket) throw new StorageConfigError('s3 storage needs a bucket (--s3-bucket)');
  const endpoint = flags.s3Endpoint ?? str(f3.regionendpoint, 'storage.s3.regionendpoint');
  if (endpoint !== undefined) {
    let u: URL;
    try {
      u = new URL(endpoint);
    } catch {
      throw new StorageConfigError(`invalid S3 endpoint "${endpoint}": expected a URL such as http://127.0.0.1:9000`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new StorageConfigError(`invalid S3 endpoint "${endpoint}": http or https only`);
  }
  const disable = bool(redirect.disable, 'storage.redirect.disable');
  return {
    driver,
    s3: {
      bucket,
      region: flags.s3Region ?? str(f3.region, 'storage.s3.region') ?? process.env.AWS_REGION ?? 'us-east-1',
      endpoint,
      prefix: normalizePrefix(flags.s3Prefix ?? str(f3.rootdirectory, 'storage.s3.rootdirectory')),
      forcePathStyle: flags.s3PathStyle ?? bool(f3.forcepathstyle, 'storage.s3.forcepathstyle') ?? false,
      redirect: flags.s3Redirect ?? (disable === undefined ? false : !disable),
    },
  };
}
