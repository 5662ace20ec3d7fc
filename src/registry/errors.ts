/**
 * Registry errors as the distribution spec names them. Each code carries the
 * HTTP status Distribution (the reference registry) answers with, so handlers
 * throw and the server writes `{"errors":[{code,message,detail}]}`.
 */
export type ErrorCode =
  | 'BLOB_UNKNOWN'
  | 'BLOB_UPLOAD_INVALID'
  | 'BLOB_UPLOAD_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'SIZE_INVALID'
  | 'TAG_INVALID'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNSUPPORTED'
  | 'TOOMANYREQUESTS'
  | 'RANGE_INVALID'
  | 'UNAVAILABLE'
  | 'UNKNOWN';

const DEFAULTS: Record<ErrorCode, [number, string]> = {
  BLOB_UNKNOWN: [404, 'blob unknown to registry'],
  BLOB_UPLOAD_INVALID: [400, 'blob upload invalid'],
  BLOB_UPLOAD_UNKNOWN: [404, 'blob upload unknown to registry'],
  DIGEST_INVALID: [400, 'provided digest did not match uploaded content'],
  MANIFEST_BLOB_UNKNOWN: [400, 'manifest references a manifest or blob unknown to registry'],
  MANIFEST_INVALID: [400, 'manifest invalid'],
  MANIFEST_UNKNOWN: [404, 'manifest unknown'],
  NAME_INVALID: [400, 'invalid repository name'],
  NAME_UNKNOWN: [404, 'repository name not known to registry'],
  SIZE_INVALID: [400, 'provided length did not match content length'],
  TAG_INVALID: [400, 'manifest tag did not match URI'],
  UNAUTHORIZED: [401, 'authentication required'],
  DENIED: [403, 'requested access to the resource is denied'],
  UNSUPPORTED: [405, 'The operation is unsupported.'],
  TOOMANYREQUESTS: [429, 'too many requests'],
  RANGE_INVALID: [416, 'invalid content range'],
  UNAVAILABLE: [503, 'service unavailable'],
  UNKNOWN: [500, 'unknown error'],
};

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  detail?: unknown;
}

export class RegistryError extends Error {
  readonly status: number;
  /** Further errors reported in the same response (e.g. each missing blob of a manifest). */
  readonly more: ErrorBody[] = [];
  /** Extra response headers (WWW-Authenticate, Range, Retry-After). */
  headers: Record<string, string> = {};

  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly detail?: unknown,
    status?: number,
  ) {
    super(message ?? DEFAULTS[code][1]);
    this.status = status ?? DEFAULTS[code][0];
  }

  body(): { errors: ErrorBody[] } {
    const first: ErrorBody = { code: this.code, message: this.message, detail: this.detail ?? null };
    return { errors: [first, ...this.more] };
  }

  withHeaders(h: Record<string, string>): this {
    Object.assign(this.headers, h);
    return this;
  }
}

export const errors = {
  blobUnknown: (digest: string) => new RegistryError('BLOB_UNKNOWN', 'blob unknown to registry', { digest }),
  uploadUnknown: (id: string) => new RegistryError('BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry', { uuid: id }),
  manifestUnknown: (ref: string) => new RegistryError('MANIFEST_UNKNOWN', 'manifest unknown', { reference: ref }),
  nameUnknown: (name: string) => new RegistryError('NAME_UNKNOWN', 'repository name not known to registry', { name }),
  nameInvalid: (name: string, why: string) => new RegistryError('NAME_INVALID', 'invalid repository name', { name, reason: why }),
  digestInvalid: (message: string, detail?: unknown) => new RegistryError('DIGEST_INVALID', message, detail),
  unsupported: (message = 'The operation is unsupported.') => new RegistryError('UNSUPPORTED', message),
};
