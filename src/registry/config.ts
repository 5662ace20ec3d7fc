/**
 * Settings of `berth registry serve`, from a JSON config file and flags (a
 * flag wins over the file). The file's shape:
 *
 *   {
 *     "addr": "0.0.0.0:5000",            "root": "/var/lib/berth-registry",
 *     "readOnly": false,                 "deleteEnabled": false,
 *     "tls": { "cert": "server.crt", "key": "server.key" },
 *     "auth": { "type": "htpasswd" | "token" | "none", "htpasswd": "users.htpasswd",
 *               "realm": "…", "service": "…", "issuer": "…", "key": "issuer.pem", "expiry": 300 },
 *     "access": [ { "repository": "team/*", "users": ["alice"], "actions": ["pull", "push"] } ],
 *     "rateLimit": { "requestsPerSecond": 50, "burst": 100 },
 *     "uploadPurgeAgeSeconds": 604800,   "logLevel": "info",
 *     "storage": { "s3": { … }, "redirect": { … } }     (storage/config.ts)
 *     "proxy": {…}, "replication": {…}, "retention": {…}, "quotas": […], "notifications": {…}
 *   }
 *
 * The last five are described by their modules (proxy/cache.ts, replication/rules.ts,
 * retention.ts, quota.ts, webhooks.ts), which also check them.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { validateRules, parseRuleFlag, type AccessRule } from './auth/access.js';
import { parseStorageConfig, StorageConfigError, type StorageConfig, type StorageFlags } from './storage/config.js';
import { parseProxy, type ProxySettings, type ProxyFlags } from './proxy/cache.js';
import { parseReplication, type ReplicationRule } from './replication/rules.js';
import { parseRetention, type RetentionSettings } from './retention.js';
import { parseQuotas, type QuotaRule } from './quota.js';
import { parseNotifications, type WebhookEndpoint } from './webhooks.js';

export type AuthType = 'none' | 'htpasswd' | 'token';

export interface RegistryConfig {
  addr: string;
  root: string;
  readOnly: boolean;
  deleteEnabled: boolean;
  tls?: { cert: string; key: string };
  auth: {
    type: AuthType;
    htpasswd?: string;
    /** Basic realm, or the Bearer realm URL (default: this server's /token). */
    realm?: string;
    service: string;
    issuer: string;
    /** PEM file of the token issuer's EC key (default: <root>/token/issuer-key.pem, created). */
    key?: string;
    expiry: number;
  };
  access: AccessRule[];
  rateLimit?: { requestsPerSecond: number; burst: number };
  uploadPurgeAgeSeconds: number;
  logLevel: string;
  storage: StorageConfig;
  /** A pull-through cache of this upstream (read-only for clients). */
  proxy?: ProxySettings;
  replication: ReplicationRule[];
  retention?: RetentionSettings;
  quotas: QuotaRule[];
  notifications: WebhookEndpoint[];
}

export const DEFAULT_ADDR = '0.0.0.0:5000';
export const DEFAULT_ROOT = '/var/lib/berth-registry';

export class ConfigError extends Error {}

/** Flag values as the CLI parses them (undefined when not given). */
export interface ConfigFlags extends StorageFlags, ProxyFlags {
  config?: string;
  addr?: string;
  root?: string;
  readOnly?: boolean;
  deleteEnabled?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  auth?: string;
  htpasswd?: string;
  realm?: string;
  tokenService?: string;
  tokenIssuer?: string;
  tokenKey?: string;
  tokenExpiry?: number;
  access?: string[];
  rateLimit?: number;
  rateBurst?: number;
  logLevel?: string;
}

function str(v: unknown, what: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new ConfigError(`${what} must be a string`);
  return v;
}

function num(v: unknown, what: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new ConfigError(`${what} must be a non-negative number`);
  return v;
}

function bool(v: unknown, what: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new ConfigError(`${what} must be true or false`);
  return v;
}

/** A feature section's checker, its message as a ConfigError. */
function section<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new ConfigError(`config: ${(err as Error).message}`);
  }
}

export function parseAddr(addr: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(addr);
  if (!m) throw new ConfigError(`invalid address "${addr}": expected HOST:PORT`);
  const port = Number(m[3]);
  if (port > 65535) throw new ConfigError(`invalid port in "${addr}"`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

/** Read the config file (paths in it are relative to the file) and apply flags over it. */
export function loadConfig(flags: ConfigFlags): RegistryConfig {
  let file: Record<string, unknown> = {};
  let base = process.cwd();
  if (flags.config) {
    let text: string;
    try {
      text = readFileSync(flags.config, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read config file ${flags.config}: ${(err as Error).message}`);
    }
    try {
      file = JSON.parse(text);
    } catch (err) {
      throw new ConfigError(`config file ${flags.config} is not valid JSON: ${(err as Error).message}`);
    }
    if (!file || typeof file !== 'object' || Array.isArray(file)) throw new ConfigError(`config file ${flags.config} must hold a JSON object`);
    base = dirname(resolve(flags.config));
  }
  const known = new Set([
    'addr',
    'root',
    'readOnly',
    'deleteEnabled',
    'tls',
    'auth',
    'access',
    'rateLimit',
    'uploadPurgeAgeSeconds',
    'logLevel',
    'proxy',
    'replication',
    'retention',
    'quotas',
    'notifications',
    'storage',
  ]);
  for (const k of Object.keys(file)) if (!known.has(k)) throw new ConfigError(`config: unknown key "${k}"`);
  const path = (p: string | undefined) => (p === undefined ? undefined : resolve(base, p));
  const fa = (file.auth ?? {}) as Record<string, unknown>;
  const ft = (file.tls ?? {}) as Record<string, unknown>;
  const fr = file.rateLimit as Record<string, unknown> | undefined;

  const htpasswd = flags.htpasswd ?? path(str(fa.htpasswd, 'auth.htpasswd'));
  const type = (flags.auth ?? str(fa.type, 'auth.type') ?? (htpasswd ? 'htpasswd' : 'none')) as AuthType;
  if (!['none', 'htpasswd', 'token'].includes(type)) throw new ConfigError(`invalid auth type "${type}": expected none, htpasswd or token`);
  if (type !== 'none' && !htpasswd) throw new ConfigError(`${type} auth needs an htpasswd file of users (--htpasswd)`);

  const cert = flags.tlsCert ?? path(str(ft.cert, 'tls.cert'));
  const key = flags.tlsKey ?? path(str(ft.key, 'tls.key'));
  if (!!cert !== !!key) throw new ConfigError('TLS needs both a certificate (--tls-cert) and a key (--tls-key)');

  let access: AccessRule[];
  try {
    access = flags.access?.length ? flags.access.map(parseRuleFlag) : validateRules(file.access);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }

  const rps = flags.rateLimit ?? num(fr?.requestsPerSecond, 'rateLimit.requestsPerSecond');
  const burst = flags.rateBurst ?? num(fr?.burst, 'rateLimit.burst');
  let storage: StorageConfig;
  try {
    storage = parseStorageConfig(file.storage, flags);
  } catch (err) {
    if (err instanceof StorageConfigError) throw new ConfigError(err.message);
    throw err;
  }
  const cfg: RegistryConfig = {
    addr: flags.addr ?? str(file.addr, 'addr') ?? DEFAULT_ADDR,
    root: flags.root ?? path(str(file.root, 'root')) ?? DEFAULT_ROOT,
    readOnly: flags.readOnly ?? bool(file.readOnly, 'readOnly') ?? false,
    deleteEnabled: flags.deleteEnabled ?? bool(file.deleteEnabled, 'deleteEnabled') ?? false,
    tls: cert && key ? { cert, key } : undefined,
    auth: {
      type,
      htpasswd,
      realm: flags.realm ?? str(fa.realm, 'auth.realm'),
      service: flags.tokenService ?? str(fa.service, 'auth.service') ?? 'berth-registry',
      issuer: flags.tokenIssuer ?? str(fa.issuer, 'auth.issuer') ?? 'berth-registry-token-issuer',
      key: flags.tokenKey ?? path(str(fa.key, 'auth.key')),
      expiry: flags.tokenExpiry ?? num(fa.expiry, 'auth.expiry') ?? 300,
    },
    access,
    rateLimit: rps ? { requestsPerSecond: rps, burst: burst ?? Math.max(1, Math.ceil(rps * 2)) } : undefined,
    uploadPurgeAgeSeconds: num(file.uploadPurgeAgeSeconds, 'uploadPurgeAgeSeconds') ?? 7 * 24 * 3600,
    logLevel: flags.logLevel ?? str(file.logLevel, 'logLevel') ?? 'info',
    storage,
    proxy: section(() => parseProxy(file.proxy, flags)),
    replication: section(() => parseReplication(file.replication)),
    retention: section(() => parseRetention(file.retention)),
    quotas: section(() => parseQuotas(file.quotas)),
    notifications: section(() => parseNotifications(file.notifications)),
  };
  parseAddr(cfg.addr);
  if (cfg.auth.expiry <= 0) throw new ConfigError('auth.expiry must be positive');
  return cfg;
}
