/**
 * Registry credentials in docker's config file, so berth and docker share
 * logins: `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`).
 *
 *   auths.<server>.auth           base64("user:password") (plus identitytoken)
 *   credsStore: "pass"            every server through docker-credential-pass
 *   credHelpers.<host>: "ecr"     one server through docker-credential-ecr
 *
 * Helpers speak docker's protocol: `get` (server URL on stdin → JSON
 * {ServerURL, Username, Secret}), `store` (that JSON on stdin), `erase`.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';
import { DEFAULT_DOMAIN, parseReference } from '../core/reference.js';

/** Where Docker Hub credentials are filed, as docker does. */
export const INDEX_SERVER = 'https://index.docker.io/v1/';

export interface AuthEntry {
  username?: string;
  password?: string;
  identitytoken?: string;
  serveraddress: string;
}

interface ConfigFile {
  auths?: Record<string, { auth?: string; identitytoken?: string; username?: string; password?: string; email?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [k: string]: unknown;
}

export function configDir(): string {
  return process.env.DOCKER_CONFIG || join(homedir(), '.docker');
}

export function configPath(): string {
  return join(configDir(), 'config.json');
}

function readConfig(): ConfigFile {
  try {
    const j = JSON.parse(readFileSync(configPath(), 'utf8')) as ConfigFile;
    return j && typeof j === 'object' ? j : {};
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new Error(`loading config file ${configPath()}: ${(err as Error).message}`);
  }
}

/** config.json's `detachKeys`: what run, start, attach and exec use when --detach-keys is not given, as docker does. */
export function configuredDetachKeys(): string | undefined {
  const k = readConfig().detachKeys;
  return typeof k === 'string' && k ? k : undefined;
}

async function writeConfig(c: ConfigFile): Promise<void> {
  await writeFileAtomic(configPath(), JSON.stringify(c, null, '\t') + '\n', 0o600);
}

/** The key a registry's credentials are filed under: Docker Hub's index URL, else host[:port]. */
export function serverKey(server: string | undefined): string {
  if (!server) return INDEX_SERVER;
  const host = hostOf(server);
  return host === 'docker.io' || host === 'index.docker.io' || host === 'registry-1.docker.io' ? INDEX_SERVER : host;
}

function hostOf(s: string): string {
  return s.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
}

/** The server key for an image name ("busybox" → Docker Hub, "localhost:5000/x" → localhost:5000). */
export function serverForImage(image: string): string {
  try {
    const ref = parseReference(image);
    return ref.domain === DEFAULT_DOMAIN ? INDEX_SERVER : ref.domain;
  } catch {
    return INDEX_SERVER;
  }
}

function helperFor(c: ConfigFile, key: string): string | undefined {
  return c.credHelpers?.[hostOf(key)] ?? c.credHelpers?.[key] ?? c.credsStore ?? undefined;
}

function runHelper(helper: string, action: 'get' | 'store' | 'erase', input: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(`docker-credential-${helper}`, [action], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(
        new Error(
          e.code === 'ENOENT'
            ? `error getting credentials - err: exec: "docker-credential-${helper}": executable file not found in $PATH, out: \`\``
            : e.message,
        ),
      ),
    );
    child.on('close', (code) => resolve({ code: code ?? 1, out }));
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}

/** Credentials for a server, from its helper or the file; undefined when none are stored. */
export async function getCredentials(server: string): Promise<AuthEntry | undefined> {
  const c = readConfig();
  const key = serverKey(server);
  const helper = helperFor(c, key);
  if (helper) {
    const r = await runHelper(helper, 'get', key);
    if (r.code !== 0) {
      if (/credentials not found/i.test(r.out)) return undefined;
      throw new Error(`error getting credentials - err: exit status ${r.code}, out: \`${r.out.trim()}\``);
    }
    const j = JSON.parse(r.out) as { Username?: string; Secret?: string };
    if (j.Username === '<token>') return { identitytoken: j.Secret, serveraddress: key };
    return { username: j.Username, password: j.Secret, serveraddress: key };
  }
  const entry = c.auths?.[key] ?? Object.entries(c.auths ?? {}).find(([k]) => hostOf(k) === hostOf(key))?.[1];
  if (!entry) return undefined;
  let username = entry.username;
  let password = entry.password;
  if (entry.auth) {
    const plain = Buffer.from(entry.auth, 'base64').toString('utf8');
    const i = plain.indexOf(':');
    if (i >= 0) {
      username = plain.slice(0, i);
      password = plain.slice(i + 1);
    }
  }
  return { username, password, identitytoken: entry.identitytoken, serveraddress: key };
}

/** Save a login; returns the file it went to when stored in plain text (docker warns then). */
export async function storeCredentials(e: AuthEntry): Promise<string | undefined> {
  const c = readConfig();
  const key = serverKey(e.serveraddress);
  const helper = helperFor(c, key);
  if (helper) {
    const body = e.identitytoken
      ? { ServerURL: key, Username: '<token>', Secret: e.identitytoken }
      : { ServerURL: key, Username: e.username ?? '', Secret: e.password ?? '' };
    const r = await runHelper(helper, 'store', JSON.stringify(body));
    if (r.code !== 0) throw new Error(`error storing credentials - err: exit status ${r.code}, out: \`${r.out.trim()}\``);
    // docker keeps an empty entry so `auths` lists the server.
    c.auths = { ...(c.auths ?? {}), [key]: {} };
    await writeConfig(c);
    return undefined;
  }
  const entry: { auth: string; identitytoken?: string } = {
    auth: Buffer.from(`${e.username ?? ''}:${e.identitytoken ? '' : (e.password ?? '')}`).toString('base64'),
  };
  if (e.identitytoken) entry.identitytoken = e.identitytoken;
  c.auths = { ...(c.auths ?? {}), [key]: entry };
  await writeConfig(c);
  return configPath();
}

/** Forget a login; false when there was none. */
export async function eraseCredentials(server: string): Promise<boolean> {
  const c = readConfig();
  const key = serverKey(server);
  const helper = helperFor(c, key);
  let found = false;
  if (helper) {
    const r = await runHelper(helper, 'erase', key);
    found = r.code === 0;
  }
  for (const k of Object.keys(c.auths ?? {})) {
    if (k === key || hostOf(k) === hostOf(key)) {
      delete c.auths![k];
      found = true;
    }
  }
  if (found) await writeConfig(c);
  return found;
}

/** X-Registry-Auth: base64url of the JSON auth config, as docker sends it. */
export function encodeAuth(e: AuthEntry | undefined): string {
  const body = e
    ? e.identitytoken
      ? { identitytoken: e.identitytoken, serveraddress: e.serveraddress }
      : { username: e.username, password: e.password, serveraddress: e.serveraddress }
    : {};
  return Buffer.from(JSON.stringify(body)).toString('base64url');
}
