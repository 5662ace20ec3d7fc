import { open, rename, mkdir, rm, unlink, writeFile } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** A hidden, unique name beside `path`, for a file renamed over it when complete. */
function tmpBeside(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${randomBytes(6).toString('hex')}`);
}

/** fsync a directory so a rename inside it survives a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Write a file whole or not at all: temp file beside it, fsync, rename over
 * the target, fsync the directory. A reader sees the old or the new content.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = tmpBeside(path);
  const fh = await open(tmp, 'w', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await fh.close();
  await rename(tmp, path);
  await fsyncDir(dir);
}

export async function writeJsonAtomic(path: string, value: unknown, mode?: number): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value), mode);
}

/**
 * Replace a file whole, without the fsyncs: a reader (or a daemon killed
 * mid-write) sees the old or the new content; a power cut may leave either,
 * or an empty file. For files that are rewritten often and can be rebuilt.
 */
export async function replaceFile(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = tmpBeside(path);
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
}

export async function replaceJson(path: string, value: unknown): Promise<void> {
  await replaceFile(path, JSON.stringify(value));
}

/**
 * Take a directory away at once, with one rename to `aside`, and delete its
 * files after, off the caller's path (whoever owns `aside`'s place sweeps it
 * should that be cut short). False when there was no such directory.
 */
export async function discardDir(dir: string, aside: string): Promise<boolean> {
  try {
    await rename(dir, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
  void rm(aside, { recursive: true, force: true }).catch(() => {});
  return true;
}
