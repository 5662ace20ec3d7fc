/**
 * Persistent network namespaces: a new namespace bind-mounted on a file
 * (util-linux `unshare --net=FILE`), so it exists before runc starts the
 * container (runc joins it by path), outlives berthd, and is torn down
 * explicitly — umount and unlink — when the container stops.
 */
import { mkdir, rm, writeFile, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { run } from '../core/proc.js';
import { SystemError } from '../core/errors.js';

/** A new namespace on `path`, its loopback up (brought up inside it by the same exec: no CNI loopback run). */
export async function createNetns(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  // No file, no mount: the table is read only for a path left from before.
  if (existsSync(path) && (await isNetnsMount(path))) return;
  await writeFile(path, '');
  const r = await run('unshare', [`--net=${path}`, 'ip', 'link', 'set', 'lo', 'up']);
  if (r.code !== 0) {
    await rm(path, { force: true });
    throw new SystemError(`failed to create network namespace ${path}: ${r.stderr.trim()}`);
  }
}

/** Unmount and delete; a namespace no one else holds is freed by the kernel, with its veths. */
export async function removeNetns(path: string): Promise<void> {
  if (await isNetnsMount(path)) {
    const r = await run('umount', [path]);
    if (r.code !== 0 && (await isNetnsMount(path))) await run('umount', ['-l', path]);
  }
  await rm(path, { force: true });
}

export async function isNetnsMount(path: string): Promise<boolean> {
  const info = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  return info.split('\n').some((l) => l.split(' ')[4] === path);
}

/** Netns mounts under a directory (for reconciling after a crash). */
export async function netnsMountsUnder(dir: string): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  return info
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p.startsWith(dir + '/'));
}
