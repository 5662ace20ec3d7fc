/**
 * The storage seam's interface (see storage.ts for the drivers and the
 * lifecycle): what the handlers, gc and the other registry services call.
 */
import type { Readable } from 'node:stream';
import type { ParsedManifest } from '../manifest.js';
import type { Descriptor } from '../../core/wire/descriptor.js';

export interface StoredManifest {
  digest: string;
  mediaType: string;
  size: number;
  body: Buffer;
}
export interface UploadInfo {
  id: string;
  name: string;
  alg: string;
  started: string;
  size: number;
}

export interface RegistryStorage {
  /** Prepare the layout (directories; for S3, check the bucket answers). */
  init(): Promise<void>;
  /** Where the data lives, for the server's start-up line. */
  describe(): string;

  // blobs
  blobSize(digest: string): Promise<number | undefined>;
  allBlobs(): Promise<string[]>;
  removeBlob(digest: string): Promise<void>;
  /** Store bytes held in memory (manifests) after checking their digest. */
  putBlobBytes(data: Buffer, digest: string): Promise<void>;
  /** A blob's bytes, or undefined (manifests, gc). */
  readBlob(digest: string): Promise<Buffer | undefined>;
  /** A stream of a blob's bytes, `end` inclusive; errors surface on the stream. */
  openBlob(digest: string, start?: number, end?: number): Readable;
  /** A short-lived URL a client may fetch the blob from directly, when the driver redirects. */
  blobRedirectUrl?(digest: string): Promise<string | undefined>;

  // repositories and links
  repoExists(name: string): Promise<boolean>;
  linkLayer(name: string, digest: string): Promise<void>;
  /** The size of a blob this repository may serve (a linked layer or one of its manifests). */
  repoBlobSize(name: string, digest: string): Promise<number | undefined>;
  unlinkLayer(name: string, digest: string): Promise<boolean>;
  layers(name: string): Promise<string[]>;
  /** Every repository, in ASCII order. */
  repositories(): Promise<string[]>;

  // manifests, tags, referrers
  putManifest(name: string, body: Buffer, digest: string, parsed: ParsedManifest, tags: string[], referrer?: Descriptor): Promise<void>;
  hasManifest(name: string, digest: string): Promise<boolean>;
  getManifest(name: string, ref: string, isDigest: boolean): Promise<StoredManifest | undefined>;
  tags(name: string): Promise<Array<{ tag: string; digest: string }>>;
  /** When a tag was last pushed, or undefined when it does not exist (retention's "last N" and "within D days"). */
  tagTime(name: string, tag: string): Promise<Date | undefined>;
  deleteTag(name: string, tag: string): Promise<boolean>;
  revisions(name: string): Promise<Array<{ digest: string; mediaType: string }>>;
  deleteManifest(name: string, digest: string, subject?: string): Promise<boolean>;
  referrers(name: string, subject: string): Promise<Descriptor[]>;

  // uploads
  startUpload(name: string, alg: string): Promise<UploadInfo>;
  /** The upload session `id` of repository `name`, or BLOB_UPLOAD_UNKNOWN. */
  upload(name: string, id: string): Promise<UploadInfo>;
  /** Serialise requests on one upload session (within this process). */
  lockUpload<T>(id: string, fn: () => Promise<T>): Promise<T>;
  /** Append a request body; `u.size` advances only by bytes the driver has stored. */
  appendUpload(u: UploadInfo, body: Readable): Promise<number>;
  /** Verify the digest, make the blob visible and link it into the repository; a wrong digest ends the session. */
  completeUpload(u: UploadInfo, digest: string): Promise<void>;
  cancelUpload(id: string): Promise<void>;
  purgeUploads(maxAgeMs: number): Promise<number>;
  touchUpload(id: string): Promise<void>;
}
