/**
 * Who may read the data root. Every layer, image config and container record
 * lives there, so no user but root may read any of it — the modes dockerd
 * gives /var/lib/docker: the root and the trees a container's processes are
 * reached through (containers/, snapshots/) 0710, pure metadata (content/,
 * images/) 0700 with files 0600, volumes/ 0701. Inside containers/,
 * snapshots/ and volumes/ files keep the modes a container needs (a layer's
 * /bin/sh 0755, the /etc/hosts bind-mounted in 0644): the directories above
 * them already keep other users out, and a container reaches them through
 * its mounts, never through these paths.
 *
 * Stores made before (or by hand) are brought to these modes at start.
 */
import { chmod, lstat, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';

export const ROOT_MODE = 0o710;

/** Top-level entries and their modes; `private` trees hold only Berth's own files, all made 0700/0600. */
export const TOP_LEVEL: Record<string, { mode: number; private?: boolean }> = {
  content: { mode: 0o700, private: true },
  images: { mode: 0o700, private: true },
  containers: { mode: 0o710 },
  snapshots: { mode: 0o710 },
  networks: { mode: 0o750 },
  volumes: { mode: 0o701 },
  tmp: { mode: 0o700, private: true },
};

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

async function ensureMode(path: string, mode: number): Promise<void> {
  const st = await lstat(path);
  if ((st.mode & 0o7777) !== mode) await chmod(path, mode);
}

/** Everything under `dir` to 0700 (directories) / 0600 (files); symlinks are left alone. */
async function privatize(dir: string): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      await privatize(p);
      await ensureMode(p, PRIVATE_DIR_MODE);
    } else if (e.isFile()) {
      await ensureMode(p, PRIVATE_FILE_MODE);
    }
  }
}

/** Create the data root's top level with its modes, and fix the modes of an existing store. */
export async function secureDataRoot(root: string): Promise<void> {
  await mkdir(root, { recursive: true, mode: ROOT_MODE });
  await ensureMode(root, ROOT_MODE);
  for (const [name, { mode, private: priv }] of Object.entries(TOP_LEVEL)) {
    const dir = join(root, name);
    await mkdir(dir, { recursive: true, mode });
    if (priv) await privatize(dir);
    await ensureMode(dir, mode);
  }
}
