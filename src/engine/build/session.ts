/**
 * The state one build shares between its stages and their instructions: the
 * options, the stages and the images they make, the build args consumed, the
 * leases held until the build ends; and the lookups that reach across
 * stages (an earlier stage by name or number, a base image pulled if need be).
 */
import { InvalidArgumentError, NotFoundError, messageOf } from '../../core/errors.js';
import { familiarString, parseReference, withDefaultTag, type Reference } from '../../core/reference.js';
import type { Env } from '../../dockerfile/shell-lex.js';
import { metaEnv, stageRef, type Stage } from '../../dockerfile/stages.js';
import type { ImageService } from '../images/service.js';
import type { ImageRecord } from '../images/types.js';
import { BuildCancelledError, type BuildOptions } from './options.js';

export class BuildSession {
  /** Build args some instruction consumed; the others are reported as unused. */
  readonly usedArgs = new Set<string>();
  /** Each needed stage's final image, once it is built. */
  readonly stageImages = new Map<number, Promise<ImageRecord | undefined>>();
  stages: Stage[] = [];
  /** The global ARGs (before the first FROM) and their values. */
  metaArgs = new Map<string, string | undefined>();
  /** Leases on the images the build stands on, released when it ends. */
  readonly holds: Array<() => void> = [];
  readonly failedContainers: string[] = [];

  constructor(
    private readonly images: ImageService,
    readonly o: BuildOptions,
  ) {}

  checkCancelled(): void {
    if (this.o.signal?.aborted) throw new BuildCancelledError();
  }

  /** The index of an earlier stage `name` denotes (by name or number), if it names one. */
  stageRef(name: string, before: number): number | undefined {
    return stageRef(this.stages, name, before);
  }

  metaEnv(): Env {
    return metaEnv(this.metaArgs);
  }

  async resolveImage(name: string): Promise<ImageRecord> {
    let ref: Reference;
    try {
      ref = withDefaultTag(parseReference(name));
    } catch (e) {
      throw new InvalidArgumentError(messageOf(e));
    }
    const shown = familiarString(ref);
    let rec = this.images.tryResolve(name);
    if ((!rec || this.o.pull) && this.o.pullImage) {
      try {
        await this.o.pullImage(name);
      } catch (e) {
        if (!rec) throw e;
      }
      rec = this.images.tryResolve(name);
    }
    if (!rec) throw new NotFoundError(`No such image: ${shown}`);
    return rec;
  }
}
