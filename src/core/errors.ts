/**
 * Typed errors. Each carries the HTTP status the Engine API answers with, so
 * api/ maps errors to responses without knowing what went wrong.
 */
export class BerthError extends Error {
  readonly status: number;
  constructor(message: string, status = 500) {
    super(message);
    this.name = new.target.name;
    this.status = status;
  }
}

/** 404: the thing asked for does not exist ("No such image: …"). */
export class NotFoundError extends BerthError {
  constructor(message: string) {
    super(message, 404);
  }
}

/** 409: the request conflicts with current state (an image in use, a name taken). */
export class ConflictError extends BerthError {
  constructor(message: string) {
    super(message, 409);
  }
}

/** 400: the request itself is malformed (bad reference, bad parameter, bad archive). */
export class InvalidArgumentError extends BerthError {
  constructor(message: string) {
    super(message, 400);
  }
}

/** 500: something failed on the daemon's side. */
export class SystemError extends BerthError {
  constructor(message: string) {
    super(message, 500);
  }
}

/** The status an arbitrary thrown value maps to. */
export function statusOf(err: unknown): number {
  return err instanceof BerthError ? err.status : 500;
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
