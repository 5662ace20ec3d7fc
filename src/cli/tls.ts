/**
 * The CLI's TLS settings, read as the docker CLI reads its own: `--tls`,
 * `--tlsverify` (either value turns TLS on), `--tlscacert`, `--tlscert`,
 * `--tlskey`, with defaults from DOCKER_TLS / DOCKER_TLS_VERIFY (any
 * non-empty value) and the files ca.pem, cert.pem, key.pem in
 * DOCKER_CERT_PATH, else the client config dir (~/.docker). BERTH_TLS,
 * BERTH_TLS_VERIFY and BERTH_CERT_PATH win over the DOCKER_ names. A
 * default cert or key file that does not exist is left out (no client
 * certificate), as docker does; a file named by a flag, and the CA when
 * verifying, must exist.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FlagDef, FlagValues } from '../core/flags.js';
import type { ClientTls } from '../client/client.js';
import { configDir } from './credentials.js';

export const TLS_FLAGS: FlagDef[] = [
  { name: 'tls', type: 'bool', help: 'Use TLS; implied by --tlsverify' },
  { name: 'tlsverify', type: 'bool', help: 'Use TLS and verify the remote' },
  { name: 'tlscacert', type: 'string', help: 'Trust certs signed only by this CA (default "~/.docker/ca.pem")' },
  { name: 'tlscert', type: 'string', help: 'Path to TLS certificate file (default "~/.docker/cert.pem")' },
  { name: 'tlskey', type: 'string', help: 'Path to TLS key file (default "~/.docker/key.pem")' },
];

function env(name: string): string | undefined {
  return process.env[`BERTH_${name}`] || process.env[`DOCKER_${name}`] || undefined;
}

/** undefined when TLS is off; throws with docker's words when a named file cannot be read. */
export function clientTls(flags: FlagValues, set: Set<string>): ClientTls | undefined {
  const verify = set.has('tlsverify') ? flags.tlsverify === true : !!env('TLS_VERIFY');
  const on = set.has('tlsverify') || verify || (set.has('tls') ? flags.tls === true : !!env('TLS'));
  if (!on) return undefined;
  const dir = env('CERT_PATH') ?? configDir();
  const file = (flag: string, name: string, required = false): Buffer | undefined => {
    const path = (flags[flag] as string | undefined) ?? join(dir, name);
    if (!required && !set.has(flag) && !existsSync(path)) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new Error(`could not read ${flag} file ${JSON.stringify(path)}: ${(err as Error).message}`);
    }
  };
  return { verify, ca: verify ? file('tlscacert', 'ca.pem', true) : undefined, cert: file('tlscert', 'cert.pem'), key: file('tlskey', 'key.pem') };
}
