/**
 * `berth registry serve` and `berth registry gc`: the registry server runs on
 * its own root and never talks to (or starts) berthd.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CliExit, type Command } from '../cli.js';
import type { FlagValues } from '../../core/flags.js';
import { setLogLevel } from '../../core/log.js';
import { loadConfig, ConfigError, DEFAULT_ROOT, type ConfigFlags } from '../../registry/config.js';
import { RegistryServer } from '../../registry/server.js';
import { collectGarbage } from '../../registry/gc.js';
import { openStorage } from '../../registry/storage.js';

/** The storage flags serve and gc share. */
const STORAGE_FLAGS: Command['flags'] = [
  { name: 'storage', type: 'string', help: 'Storage driver: filesystem or s3 (default "filesystem")' },
  { name: 's3-endpoint', type: 'string', help: 'URL of an S3-compatible endpoint (default: AWS)' },
  { name: 's3-bucket', type: 'string', help: 'S3 bucket' },
  { name: 's3-region', type: 'string', help: 'S3 region (default $AWS_REGION or "us-east-1")' },
  { name: 's3-prefix', type: 'string', help: 'Key prefix of the registry in the bucket' },
  { name: 's3-path-style', type: 'bool', help: 'Path-style addressing (http://endpoint/bucket/key) instead of virtual-hosted' },
  { name: 's3-redirect', type: 'bool', help: 'Answer blob GETs with a redirect to a presigned S3 URL' },
];

function configFlags(f: FlagValues, set: (name: string) => boolean): ConfigFlags {
  const s = (n: string) => (set(n) ? (f[n] as string) : undefined);
  const b = (n: string) => (set(n) ? (f[n] as boolean) : undefined);
  const i = (n: string) => (set(n) ? (f[n] as number) : undefined);
  return {
    config: s('config'),
    addr: s('addr'),
    root: s('root'),
    readOnly: b('read-only'),
    deleteEnabled: b('delete-enabled'),
    tlsCert: s('tls-cert'),
    tlsKey: s('tls-key'),
    auth: s('auth'),
    htpasswd: s('htpasswd'),
    realm: s('realm'),
    tokenService: s('token-service'),
    tokenIssuer: s('token-issuer'),
    tokenKey: s('token-key'),
    tokenExpiry: i('token-expiry'),
    access: set('access') ? (f.access as string[]) : undefined,
    rateLimit: i('rate-limit'),
    rateBurst: i('rate-burst'),
    logLevel: s('log-level'),
    storage: s('storage'),
    s3Endpoint: s('s3-endpoint'),
    s3Bucket: s('s3-bucket'),
    s3Region: s('s3-region'),
    s3Prefix: s('s3-prefix'),
    s3PathStyle: b('s3-path-style'),
    s3Redirect: b('s3-redirect'),
    proxyRemote: s('proxy-remote'),
    proxyUsername: s('proxy-username'),
    proxyPassword: s('proxy-password'),
    proxyTtl: s('proxy-ttl'),
  };
}

export const serve: Command = {
  usage: 'registry serve [OPTIONS]',
  summary: 'Run a registry server (OCI distribution spec, Docker registry API v2)',
  args: { max: 0 },
  flags: [
    { name: 'config', type: 'string', help: 'JSON config file with the settings below (flags win)' },
    { name: 'addr', type: 'string', help: 'Address to listen on, HOST:PORT (default "0.0.0.0:5000"; port 0 picks a free port)' },
    { name: 'root', type: 'string', help: `Storage root directory (default "${DEFAULT_ROOT}")` },
    { name: 'tls-cert', type: 'string', help: 'TLS certificate file (PEM)' },
    { name: 'tls-key', type: 'string', help: 'TLS key file (PEM)' },
    { name: 'auth', type: 'string', help: 'Authentication: none, htpasswd or token (default: htpasswd when --htpasswd is given)' },
    { name: 'htpasswd', type: 'string', help: 'htpasswd file of users (bcrypt), for htpasswd and token auth' },
    { name: 'realm', type: 'string', help: "Basic realm, or the token realm URL (default: this server's /token)" },
    { name: 'token-service', type: 'string', help: 'Service name in tokens and challenges (default "berth-registry")' },
    { name: 'token-issuer', type: 'string', help: 'Issuer name of tokens' },
    { name: 'token-key', type: 'string', help: 'EC P-256 key (PEM) signing tokens (default: created under the root)' },
    { name: 'token-expiry', type: 'int', help: 'Token lifetime in seconds (default 300)' },
    { name: 'access', type: 'strings', help: 'Access rule PATTERN:USERS:ACTIONS, e.g. "team/*:alice,bob:pull,push" (repeatable)' },
    { name: 'read-only', type: 'bool', help: 'Refuse pushes and deletes' },
    { name: 'delete-enabled', type: 'bool', help: 'Allow deleting manifests, tags and blobs' },
    { name: 'rate-limit', type: 'int', help: 'Requests per second per client (0: unlimited)' },
    { name: 'rate-burst', type: 'int', help: 'Burst of requests above the rate' },
    { name: 'log-level', short: 'l', type: 'string', help: 'Log level: debug, info, warn, error' },
    ...STORAGE_FLAGS,
    { name: 'proxy-remote', type: 'string', help: 'Be a pull-through cache of this registry URL (e.g. https://registry-1.docker.io)' },
    { name: 'proxy-username', type: 'string', help: 'Username for the upstream of the pull-through cache' },
    { name: 'proxy-password', type: 'string', help: 'Password for the upstream of the pull-through cache' },
    { name: 'proxy-ttl', type: 'string', help: 'How long a cached tag is trusted before the upstream is asked again (default "168h")' },
  ],
  async run(cli, _args, f) {
    const given = (n: string) => f[n] !== undefined && !(Array.isArray(f[n]) && (f[n] as string[]).length === 0);
    let cfg;
    try {
      cfg = loadConfig(configFlags(f, given));
    } catch (err) {
      if (err instanceof ConfigError) throw new CliExit(125, `berth registry serve: ${err.message}`);
      throw err;
    }
    setLogLevel(cfg.logLevel);
    const server = new RegistryServer(cfg);
    let addr;
    try {
      addr = await server.listen();
    } catch (err) {
      throw new CliExit(1, `berth registry serve: cannot listen on ${cfg.addr}: ${(err as Error).message}`);
    }
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    cli.err(
      `berth registry: listening on ${cfg.tls ? 'https' : 'http'}://${host}:${addr.port} (${server.storage.describe()}, auth ${cfg.auth.type}${cfg.readOnly ? ', read-only' : ''}${cfg.proxy ? `, proxy of ${cfg.proxy.remoteurl}` : ''})\n`,
    );
    await new Promise<void>((resolve) => {
      const stop = () => {
        server.close().then(resolve, resolve);
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
  },
};

export const gc: Command = {
  usage: 'registry gc [OPTIONS]',
  summary: 'Delete blobs no manifest references (run with the registry stopped or read-only)',
  args: { max: 0 },
  flags: [
    { name: 'root', type: 'string', help: `Storage root directory (default "${DEFAULT_ROOT}")` },
    { name: 'config', type: 'string', help: 'Take the storage (and read-only setting) from this config file' },
    { name: 'dry-run', short: 'd', type: 'bool', help: 'Print what would be deleted, delete nothing' },
    { name: 'delete-untagged', short: 'm', type: 'bool', help: 'Also delete manifests no tag reaches' },
    { name: 'read-only', type: 'bool', help: 'Declare that every replica on the bucket runs read-only (needed to delete on s3)' },
    ...STORAGE_FLAGS,
  ],
  async run(cli, _args, f) {
    const given = (n: string) => f[n] !== undefined;
    let cfg;
    try {
      cfg = loadConfig(configFlags(f, given));
    } catch (err) {
      if (err instanceof ConfigError) throw new CliExit(125, `berth registry gc: ${err.message}`);
      throw err;
    }
    const dryRun = !!f['dry-run'];
    if (cfg.storage.driver === 's3') {
      // Live replicas may be finishing uploads whose blobs no manifest names yet: deleting is safe only when none can write.
      if (!dryRun && !cfg.readOnly) {
        throw new CliExit(
          1,
          'berth registry gc: refusing to delete from a shared bucket while the registry may be writable: switch every replica to read-only (readOnly in the config, or --read-only) and pass the same, or use --dry-run',
        );
      }
    } else if (!existsSync(join(cfg.root, 'blobs')) && !existsSync(join(cfg.root, 'repositories'))) {
      throw new CliExit(1, `berth registry gc: no registry storage at ${cfg.root}`);
    }
    const storage = openStorage(cfg.root, cfg.storage);
    try {
      await collectGarbage(storage, { dryRun, deleteUntagged: !!f['delete-untagged'], out: (l) => cli.out(l + '\n') });
    } catch (err) {
      throw new CliExit(1, `berth registry gc: ${(err as Error).message}`);
    }
  },
};
