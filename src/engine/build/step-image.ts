/**
 * How a step becomes an image, the end of every instruction: the build
 * cache is asked first (a hit is leased for the rest of the build); else a
 * step that changes files gets a writable snapshot of the current image,
 * mounted, whose changes become a layer; and the new image is made on the
 * current one with the stage's config.
 */
import { randomBytes } from 'node:crypto';
import type { ContainerConfig } from '../../core/wire/container-config.js';
import type { ImageService } from '../images/service.js';
import type { ImageStorage } from '../images/storage.js';
import { BuildCache } from './cache.js';
import { createImage } from './image.js';
import { commitSnapshot, type NewLayer } from './layers.js';
import type { BuildSession } from './session.js';
import { stageShell, type StageState, type StepWrite } from './stage-state.js';

export class StepImages {
  private readonly cache: BuildCache;

  constructor(
    private readonly images: ImageService,
    private readonly storage: ImageStorage,
    private readonly session: BuildSession,
  ) {
    this.cache = new BuildCache(images, session.o.cacheFrom);
  }

  /** A config-only step: an image with an empty layer (or the cached one). */
  async commitConfig(st: StageState, comment: string, write: StepWrite): Promise<void> {
    const cc: ContainerConfig = { ...st.config, Cmd: [...stageShell(st), '#(nop) ', comment] };
    if (await this.probe(st, cc, write)) return;
    await this.createStepImage(st, cc);
  }

  /**
   * The stage's next image: a child of the current one with the stage's config, made by the step
   * whose container config is `cc` (its Cmd the history entry), with the step's layer if it made one.
   */
  async createStepImage(st: StageState, cc: ContainerConfig, made: { layer?: NewLayer; container?: string } = {}): Promise<void> {
    st.image = await createImage(this.images, {
      parent: st.image,
      config: { ...st.config, Image: st.image?.id ?? '' },
      containerConfig: { ...cc, Image: st.image?.id ?? '' },
      container: made.container,
      author: st.maintainer,
      createdBy: cc.Cmd!.join(' '),
      layer: made.layer,
    });
  }

  /** Use a cached child of the current image made with the same config, if there is one. */
  async probe(st: StageState, cc: ContainerConfig, write: StepWrite): Promise<boolean> {
    if (this.session.o.noCache) return false;
    const hit = await this.cache.lookup(st.image, st.config, cc);
    if (!hit) return false;
    write(' ---> Using cache\n');
    this.session.holds.push(this.images.holdLayers(hit));
    st.image = hit;
    return true;
  }

  /** Prepare a writable snapshot on the current image, mounted; run `fn`; commit what changed. */
  async withRootfs(st: StageState, fn: (root: string) => Promise<void>): Promise<Awaited<ReturnType<typeof commitSnapshot>>> {
    const sn = this.storage.snapshotter;
    const key = `build-${randomBytes(12).toString('hex')}`;
    const parent = st.image ? this.images.topChainId(st.image) : undefined;
    const release = this.images.holdSnapshot(key);
    try {
      await sn.prepare(key, parent);
      const root = await sn.mount(key);
      try {
        await fn(root);
      } finally {
        await sn.unmount(key);
      }
      return await commitSnapshot(this.storage, key, parent, true);
    } finally {
      await sn.remove(key).catch(() => {});
      release();
    }
  }
}
