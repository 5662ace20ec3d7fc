/**
 * Docker's words for what goes wrong in a pull: a registry's refusal (as
 * moby's translatePullError phrases it), a registry that cannot be reached
 * (named by its `/v2/` URL), and a blob whose bytes fail verification.
 */
import { BerthError, InvalidArgumentError, messageOf } from '../../core/errors.js';
import { type Reference, DEFAULT_DOMAIN, familiarName, fullName } from '../../core/reference.js';
import type { Endpoint } from '../../distribution/endpoints.js';
import { RegistryError, TransportError } from '../../distribution/errors.js';

/**
 * Docker's words for a registry's refusal, as moby's translatePullError
 * puts them: by the error code the registry sent — DENIED, MANIFEST_UNKNOWN
 * and NAME_UNKNOWN are "not found" in dockerd's phrasing (404); anything
 * else (UNAUTHORIZED from a registry that wants credentials) is the
 * registry's own text with status 500.
 */
class PullError extends RegistryError {}

export function accessError(ref: Reference, err: unknown): unknown {
  if (!(err instanceof RegistryError) || err instanceof PullError) return err;
  const name = ref.domain === DEFAULT_DOMAIN ? familiarName(ref) : fullName(ref);
  const what = ref.digest ? `${name}@${ref.digest}` : `${name}:${ref.tag}`;
  const code = err.codes[0];
  if (code === 'DENIED' || (code === 'NAME_UNKNOWN' && ref.domain === DEFAULT_DOMAIN)) {
    return new PullError(
      `pull access denied for ${name}, repository does not exist or may require 'docker login': ${err.message}`,
      err.httpStatus,
      err.codes,
      404,
    );
  }
  if (code === 'MANIFEST_UNKNOWN') return new PullError(`manifest for ${what} not found: ${err.message}`, 404, err.codes, 404);
  if (code === 'NAME_UNKNOWN') return new PullError(`repository ${name} not found: ${err.message}`, 404, err.codes, 404);
  if (err.httpStatus === 404 && !code) return new PullError(`manifest for ${what} not found: ${err.message}`, 404, err.codes, 404);
  if (err.httpStatus === 401 || err.httpStatus === 403) return new PullError(err.message, err.httpStatus, err.codes, 500);
  return err;
}

/** dockerd reaches a registry with `GET /v2/` first, so a registry it cannot reach is named by that URL. */
export function unreachable(ep: Endpoint, err: unknown): unknown {
  if (!(err instanceof TransportError)) return err;
  return new TransportError(err.message.replace(/^\w+ "[^"]*"/, `Get "${new URL('v2/', ep.url).href}"`), err.code);
}

/** A blob whose bytes are not what its digest says: Docker's message. */
export function verificationWords(err: unknown): unknown {
  const msg = messageOf(err);
  const m = /digest mismatch: expected (sha256:[a-f0-9]{64})/.exec(msg) ?? /unexpected size for blob (sha256:[a-f0-9]{64})/.exec(msg);
  if (m) return new InvalidArgumentError(`filesystem layer verification failed for digest ${m[1]}`);
  if (err instanceof BerthError) return err;
  return err;
}
