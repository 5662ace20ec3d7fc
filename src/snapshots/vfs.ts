/**
 * vfs: no union filesystem. Each layer directory holds the whole tree up to
 * that layer (a copy of its parent with the tar applied, whiteouts carried
 * out as deletions), and a writable snapshot is a copy of its parent layer.
 * Slow and large, but works on any filesystem.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Digest } from '../core/digest.js';
import { SystemError } from '../core/errors.js';
import { run } from '../core/proc.js';
import type { WhiteoutMode } from '../archive/apply.js';
import { LayerDirSnapshotter } from './layer-dirs.js';
import type { IdMap } from '../core/idmap.js';
import { shiftTree } from './idmap.js';

/** Copy a tree with everything kept (owners, modes, times, links, xattrs). */
async function copyTree(from: string, to: string): Promise<void> {
  const r = await run('cp', ['-a', '--reflink=auto', `${from}/.`, `${to}/`]);
  if (r.code !== 0) throw new SystemError(`copying ${from}: ${r.stderr.trim()}`);
}

export class VfsSnapshotter extends LayerDirSnapshotter {
  readonly driver = 'vfs' as const;
  protected readonly whiteouts: WhiteoutMode = 'delete';
  protected override readonly seedsFromParent = true;

  protected async seed(dir: string, parent: Digest | undefined): Promise<void> {
    if (parent) await copyTree(this.layerDiffPath(parent), dir);
  }

  async prepare(key: string, parent?: Digest, opts: { idmap?: IdMap } = {}): Promise<void> {
    const dir = await this.newActive(key, parent, opts.idmap);
    const diff = join(dir, 'diff');
    await mkdir(diff, { mode: 0o755 });
    if (parent) await copyTree(this.layerDiffPath(parent), diff);
    // vfs has no lowers to idmap: a remapped container's copy is chowned into its range.
    if (opts.idmap) await shiftTree(diff, opts.idmap);
  }

  /** vfs has no lowers to idmap: a remapped container always gets a chowned copy. */
  override async remapMode(): Promise<'copied'> {
    return 'copied';
  }

  async mount(key: string): Promise<string> {
    await this.activeParent(key); // exists?
    return this.upperPath(key);
  }

  async unmount(key: string): Promise<void> {
    await this.activeParent(key);
  }
}
