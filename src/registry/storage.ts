/**
 * The registry's storage seam: everything the HTTP handlers, gc and the other
 * registry services need from storage, as one interface with two drivers,
 * `storage/fs.ts` (a directory on one machine) and `storage/s3.ts` (an S3
 * bucket that several stateless replicas share). Both keep the same layout of
 * blobs, repository links and upload sessions, and the same promise: nothing
 * is visible as a blob before its digest is verified, and links are written
 * after the bytes they name.
 *
 * Lifecycle: `init()` once before serving; uploads go startUpload → (lockUpload:
 * upload → appendUpload …) → completeUpload or cancelUpload; purgeUploads drops
 * sessions nobody finished.
 */
import { FsStorage, hashFile } from './storage/fs.js';
import { S3Storage } from './storage/s3.js';
import type { StorageConfig } from './storage/config.js';
import type { RegistryStorage } from './storage/types.js';

export type { RegistryStorage, StoredManifest, UploadInfo } from './storage/types.js';

/** The seam's type under the name the handlers always used; `new Storage(root)` is the filesystem driver. */
export type Storage = RegistryStorage;
export const Storage = FsStorage;

export function openStorage(root: string, cfg: StorageConfig): RegistryStorage {
  return cfg.driver === 's3' ? new S3Storage(cfg.s3) : new FsStorage(root);
}

export { FsStorage, S3Storage, hashFile };
