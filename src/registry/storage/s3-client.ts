/**
 * The few S3 operations the S3 driver needs, on one bucket and key prefix,
 * through the official AWS SDK (v3). The SDK is loaded on first use, not when
 * the CLI starts (the `berth` bundle stays small and quick), and its errors
 * become the registry's: a missing key is `undefined`, anything else — an
 * unreachable endpoint, a missing bucket, refused credentials, a 5xx — is the
 * spec's UNAVAILABLE (503) with the cause in its message, so a request fails
 * clearly and the server stays up.
 */
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import type * as SDK from '@aws-sdk/client-s3';
import type * as Presigner from '@aws-sdk/s3-request-presigner';
import { RegistryError } from '../errors.js';
import type { S3Settings } from './config.js';

const require = createRequire(import.meta.url);
let sdk: typeof SDK | undefined;
function loadSdk(): typeof SDK {
  // The SDK warns on every start about Node versions it will drop some day: noise in a server's log.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  sdk ??= require('@aws-sdk/client-s3') as typeof SDK;
  return sdk;
}

/** Keys that do not exist; everything else is the storage being unavailable. */
function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  if (e?.name === 'NoSuchBucket') return false;
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.name === 'NoSuchUpload' || e?.$metadata?.httpStatusCode === 404;
}

export function unavailable(err: unknown): RegistryError {
  if (err instanceof RegistryError) return err;
  const e = err as { name?: string; message?: string; code?: string };
  const why = [e?.name, e?.code, e?.message].filter((s) => s && s !== 'Error').join(': ') || String(err);
  return new RegistryError('UNAVAILABLE', `storage backend unavailable: ${why}`, null, 503);
}

export interface Part {
  n: number;
  etag: string;
  size: number;
}

export class Bucket {
  readonly client: SDK.S3Client;
  readonly bucket: string;
  readonly prefix: string;

  constructor(readonly settings: S3Settings) {
    const { S3Client } = loadSdk();
    this.bucket = settings.bucket;
    this.prefix = settings.prefix;
    this.client = new S3Client({
      region: settings.region,
      endpoint: settings.endpoint,
      forcePathStyle: settings.forcePathStyle,
      maxAttempts: 3,
      // Checksums only where S3 requires them: S3-compatible servers differ in what they accept.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { connectionTimeout: 5000, requestTimeout: 120_000 },
    });
  }

  key(rel: string): string {
    return this.prefix + rel;
  }

  private async call<T>(fn: (s: typeof SDK) => Promise<T>): Promise<T> {
    try {
      return await fn(loadSdk());
    } catch (err) {
      throw unavailable(err);
    }
  }

  /** Like call, but a missing key or upload is undefined. */
  private async maybe<T>(fn: (s: typeof SDK) => Promise<T>): Promise<T | undefined> {
    try {
      return await fn(loadSdk());
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw unavailable(err);
    }
  }

  /** The bucket answers (and we may use it); an UNAVAILABLE error otherwise. */
  async check(): Promise<void> {
    await this.call((s) => this.client.send(new s.HeadBucketCommand({ Bucket: this.bucket })));
  }

  async size(rel: string): Promise<number | undefined> {
    const r = await this.maybe((s) => this.client.send(new s.HeadObjectCommand({ Bucket: this.bucket, Key: this.key(rel) })));
    return r ? (r.ContentLength ?? 0) : undefined;
  }

  async modified(rel: string): Promise<Date | undefined> {
    const r = await this.maybe((s) => this.client.send(new s.HeadObjectCommand({ Bucket: this.bucket, Key: this.key(rel) })));
    return r?.LastModified;
  }

  async exists(rel: string): Promise<boolean> {
    return (await this.size(rel)) !== undefined;
  }

  async get(rel: string): Promise<Buffer | undefined> {
    return this.maybe(async (s) => {
      const r = await this.client.send(new s.GetObjectCommand({ Bucket: this.bucket, Key: this.key(rel) }));
      return Buffer.from(await r.Body!.transformToByteArray());
    });
  }

  async getText(rel: string): Promise<string | undefined> {
    return (await this.get(rel))?.toString('utf8');
  }

  /** A stream of a key's bytes (a byte range, `end` inclusive). */
  async stream(rel: string, start?: number, end?: number): Promise<Readable | undefined> {
    const Range = start !== undefined ? `bytes=${start}-${end ?? ''}` : undefined;
    const r = await this.maybe((s) => this.client.send(new s.GetObjectCommand({ Bucket: this.bucket, Key: this.key(rel), Range })));
    return r?.Body as Readable | undefined;
  }

  async put(rel: string, body: Buffer | string, contentType = 'application/octet-stream'): Promise<void> {
    await this.call((s) => this.client.send(new s.PutObjectCommand({ Bucket: this.bucket, Key: this.key(rel), Body: body, ContentType: contentType })));
  }

  async copy(fromRel: string, toRel: string): Promise<void> {
    const source = `${this.bucket}/${this.key(fromRel)}`.split('/').map(encodeURIComponent).join('/');
    await this.call((s) => this.client.send(new s.CopyObjectCommand({ Bucket: this.bucket, Key: this.key(toRel), CopySource: source })));
  }

  async del(rel: string): Promise<void> {
    await this.maybe((s) => this.client.send(new s.DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(rel) })));
  }

  /** Every key under a prefix, relative to `rel`. */
  async list(rel: string): Promise<string[]> {
    const out: string[] = [];
    const prefix = this.key(rel);
    let token: string | undefined;
    do {
      const r = await this.call((s) => this.client.send(new s.ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token })));
      for (const o of r.Contents ?? []) if (o.Key) out.push(o.Key.slice(prefix.length));
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  /**
   * The names of the "directories" directly under `rel` (which ends in '/'), from a
   * listing of every key below it: delimiter listings are not implemented alike by
   * every S3-compatible server (Distribution's S3 driver walks the same way).
   */
  async dirs(rel: string): Promise<string[]> {
    const out = new Set<string>();
    for (const k of await this.list(rel)) {
      const i = k.indexOf('/');
      if (i > 0) out.add(k.slice(0, i));
    }
    return [...out];
  }

  /** Whether any key starts with `rel`. */
  async any(rel: string): Promise<boolean> {
    const r = await this.call((s) => this.client.send(new s.ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.key(rel), MaxKeys: 1 })));
    return (r.Contents ?? []).length > 0;
  }

  /** Delete every key under a prefix, a thousand per request (DeleteObjects). */
  async delPrefix(rel: string): Promise<void> {
    const keys = (await this.list(rel)).map((k) => ({ Key: this.key(rel + k) }));
    for (let i = 0; i < keys.length; i += 1000) {
      const Objects = keys.slice(i, i + 1000);
      const r = await this.call((s) => this.client.send(new s.DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects, Quiet: true } })));
      if (r.Errors?.length) throw unavailable(new Error(`DeleteObjects: ${r.Errors[0]!.Key}: ${r.Errors[0]!.Code} ${r.Errors[0]!.Message ?? ''}`));
    }
  }

  // ---- multipart ----

  async createMultipart(rel: string): Promise<string> {
    const r = await this.call((s) => this.client.send(new s.CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.key(rel) })));
    if (!r.UploadId) throw unavailable(new Error('CreateMultipartUpload returned no upload id'));
    return r.UploadId;
  }

  async uploadPart(rel: string, uploadId: string, n: number, body: Buffer): Promise<Part> {
    const r = await this.call((s) =>
      this.client.send(new s.UploadPartCommand({ Bucket: this.bucket, Key: this.key(rel), UploadId: uploadId, PartNumber: n, Body: body })),
    );
    return { n, etag: r.ETag ?? '', size: body.length };
  }

  async completeMultipart(rel: string, uploadId: string, parts: Part[]): Promise<void> {
    await this.call((s) =>
      this.client.send(
        new s.CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: this.key(rel),
          UploadId: uploadId,
          MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.n, ETag: p.etag })) },
        }),
      ),
    );
  }

  async abortMultipart(rel: string, uploadId: string): Promise<void> {
    await this.maybe((s) => this.client.send(new s.AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.key(rel), UploadId: uploadId })));
  }

  /** A presigned GET URL of a key, valid for `seconds`. */
  async presignGet(rel: string, seconds: number): Promise<string> {
    const { getSignedUrl } = require('@aws-sdk/s3-request-presigner') as typeof Presigner;
    return this.call((s) => getSignedUrl(this.client, new s.GetObjectCommand({ Bucket: this.bucket, Key: this.key(rel) }), { expiresIn: seconds }));
  }
}
