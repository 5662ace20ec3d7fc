/**
 * What a build is asked to do (BuildOptions), where its output goes
 * (BuildOutput) and how it fails (BuildError, BuildCancelledError). Apart
 * from builder.ts so the instruction executors can name them without
 * importing the orchestrator that imports them.
 */
import { BerthError } from '../../core/errors.js';
import type { BuildContext } from '../../dockerfile/context.js';

export interface BuildOptions {
  context: BuildContext;
  /** The build's own directory in the spool, for files it makes (heredocs, downloads); removed with the build. */
  scratch: string;
  dockerfile: string;
  tags: string[];
  buildArgs: Record<string, string | null>;
  labels: Record<string, string>;
  target?: string;
  noCache: boolean;
  pull: boolean;
  cacheFrom: string[];
  networkMode?: string;
  extraHosts: string[];
  rm: boolean;
  forceRm: boolean;
  /** Fetch an image that is not stored locally (FROM, --pull); absent when the daemon cannot pull. */
  pullImage?: (ref: string) => Promise<void>;
  /** Aborted when the client goes away: the build stops where it is and takes down what it started. */
  signal?: AbortSignal;
}

export interface BuildOutput {
  stream(text: string): void;
  aux(v: unknown): void;
}

/** The build was cancelled (its client hung up), in the words dockerd uses. */
export class BuildCancelledError extends BerthError {
  constructor() {
    super('context canceled', 499);
  }
}

/** A build failure with the exit code the CLI should leave with. */
export class BuildError extends BerthError {
  constructor(
    message: string,
    readonly code = 1,
  ) {
    super(message, 500);
  }
}
