/**
 * Image references, normalised exactly as Docker does:
 *   busybox                 → docker.io/library/busybox:latest
 *   localhost:5000/team/app → localhost:5000/team/app:latest
 *   name@sha256:…           → stays by digest (no implicit tag)
 */
import { InvalidArgumentError } from './errors.js';

export const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DOMAIN = 'index.docker.io';
const OFFICIAL_PREFIX = 'library/';

const ALNUM = '[a-z0-9]+';
const SEPARATOR = '(?:[._]|__|[-]+)';
const PATH_COMPONENT = `${ALNUM}(?:${SEPARATOR}${ALNUM})*`;
const PATH_RE = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN_RE = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`);
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const DIGEST_RE = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const ID_RE = /^[a-f0-9]{64}$/;
const NAME_TOTAL_MAX = 255;

export interface Reference {
  /** Registry host, e.g. "docker.io" or "localhost:5000". */
  domain: string;
  /** Repository path inside the registry, e.g. "library/busybox". */
  path: string;
  tag?: string;
  digest?: string;
}

function invalid(detail?: string): never {
  throw new InvalidArgumentError(detail ? `invalid reference format: ${detail}` : 'invalid reference format');
}

function splitDomain(name: string): { domain: string; path: string } {
  const i = name.indexOf('/');
  let domain: string;
  let path: string;
  const first = i === -1 ? '' : name.slice(0, i);
  if (i === -1 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    domain = DEFAULT_DOMAIN;
    path = name;
  } else {
    domain = first;
    path = name.slice(i + 1);
  }
  if (domain === LEGACY_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = OFFICIAL_PREFIX + path;
  return { domain, path };
}

/**
 * Parse a reference as a user types it. Adds no default tag; see
 * `withDefaultTag`. Throws a 400 in Docker's words on bad input.
 */
export function parseReference(input: string): Reference {
  if (input === '') invalid();
  if (ID_RE.test(input)) {
    throw new InvalidArgumentError(`invalid repository name (${input}), cannot specify 64-byte hexadecimal strings`);
  }
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST_RE.test(digest)) invalid();
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) invalid();
  }
  if (rest === '') invalid();
  const { domain, path } = splitDomain(rest);
  if (!DOMAIN_RE.test(domain)) invalid();
  if (!PATH_RE.test(path)) {
    if (PATH_RE.test(path.toLowerCase())) invalid('repository name must be lowercase');
    invalid();
  }
  if (domain.length + 1 + path.length > NAME_TOTAL_MAX) invalid(`repository name must not be more than ${NAME_TOTAL_MAX} characters`);
  return { domain, path, tag, digest };
}

/** Docker's TagNameOnly: a reference with neither tag nor digest gets ":latest". */
export function withDefaultTag(ref: Reference): Reference {
  return ref.tag === undefined && ref.digest === undefined ? { ...ref, tag: 'latest' } : ref;
}

/** Parse and apply the default tag: the key the reference store uses. */
export function parseNormalized(input: string): Reference {
  return withDefaultTag(parseReference(input));
}

/** Full name: "docker.io/library/busybox". */
export function fullName(ref: Reference): string {
  return `${ref.domain}/${ref.path}`;
}

/** Full string form: "docker.io/library/busybox:latest" or "…@sha256:…". */
export function formatReference(ref: Reference): string {
  let s = fullName(ref);
  if (ref.tag !== undefined) s += ':' + ref.tag;
  if (ref.digest !== undefined) s += '@' + ref.digest;
  return s;
}

/** The name as Docker shows it: "busybox", "user/app", "localhost:5000/team/app". */
export function familiarName(ref: Reference): string {
  if (ref.domain !== DEFAULT_DOMAIN) return fullName(ref);
  return ref.path.startsWith(OFFICIAL_PREFIX) && ref.path.indexOf('/', OFFICIAL_PREFIX.length) === -1 ? ref.path.slice(OFFICIAL_PREFIX.length) : ref.path;
}

/** Familiar form with tag/digest: "busybox:latest". */
export function familiarString(ref: Reference): string {
  let s = familiarName(ref);
  if (ref.tag !== undefined) s += ':' + ref.tag;
  if (ref.digest !== undefined) s += '@' + ref.digest;
  return s;
}

export function isValidTag(tag: string): boolean {
  return TAG_RE.test(tag);
}
