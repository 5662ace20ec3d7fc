/**
 * Which credentials a build's pull uses: the docker CLI sends every
 * registry's credentials with a build (X-Registry-Config, keyed by the
 * address as the user logged in to it); the pull of an image takes the entry
 * of its registry, Docker Hub under any of its spellings.
 */
import { decodeAuthHeader, type AuthConfig } from '../../distribution/auth.js';

/** The credentials in `all` (address → AuthConfig as the client sent it) for registry `domain`. */
export function credentialsFor(all: Record<string, unknown>, domain: string): AuthConfig | undefined {
  const hub = domain === 'docker.io';
  const key = Object.keys(all).find((k) =>
    hub ? /(^|\/\/)(index\.)?docker\.io(\/|$)/.test(k) : k.replace(/^https?:\/\//, '').replace(/\/.*$/, '') === domain,
  );
  return key ? decodeAuthHeader(Buffer.from(JSON.stringify(all[key])).toString('base64')) : undefined;
}
