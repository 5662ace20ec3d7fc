/** Pick a snapshotter by driver name; each keeps its state under <data-root>/snapshots/<driver>. */
import { join } from 'node:path';
import type { DriverName, Snapshotter } from './snapshotter.js';
import { Overlay2Snapshotter } from './overlay2.js';
import { VfsSnapshotter } from './vfs.js';

export function createSnapshotter(driver: DriverName, dataRoot: string): Snapshotter {
  const root = join(dataRoot, 'snapshots', driver);
  return driver === 'overlay2' ? new Overlay2Snapshotter(root) : new VfsSnapshotter(root);
}
