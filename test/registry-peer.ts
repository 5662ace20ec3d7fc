/**
 * Peers for distribution tests: Debian's reference registry (docker-registry)
 * on a loopback port with its own YAML config, a self-signed certificate, a
 * Docker-Hub-style token service, and an HTTP proxy that counts requests and
 * can cut a blob download in the middle.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, request, type Server, type IncomingMessage } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sign, randomBytes, X509Certificate } from 'node:crypto';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
    s.on('error', reject);
  });
}

/** A self-signed certificate for 127.0.0.1 and localhost (also a token signing key). */
export function makeCert(dir: string): { cert: string; key: string } {
  mkdirSync(dir, { recursive: true });
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const r = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`openssl: ${r.stderr}`);
  return { cert, key };
}

export interface RegistryOptions {
  tls?: { cert: string; key: string };
  htpasswd?: { user: string; password: string };
  token?: { realm: string; service: string; issuer: string; rootcertbundle: string };
}

export class Registry {
  proc?: ChildProcess;
  log = '';
  port = 0;
  readonly storage: string;
  constructor(
    readonly dir: string,
    readonly opts: RegistryOptions = {},
  ) {
    this.storage = join(dir, 'storage');
  }

  get host(): string {
    return `127.0.0.1:${this.port}`;
  }
  get url(): string {
    return `${this.opts.tls ? 'https' : 'http'}://${this.host}`;
  }

  async start(): Promise<void> {
    this.port ||= await freePort();
    mkdirSync(this.storage, { recursive: true });
    let yml = `version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: ${this.storage}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${this.port}\n`;
    if (this.opts.tls) yml += `  tls:\n    certificate: ${this.opts.tls.cert}\n    key: ${this.opts.tls.key}\n`;
    if (this.opts.htpasswd) {
      const r = spawnSync('htpasswd', ['-Bbn', this.opts.htpasswd.user, this.opts.htpasswd.password], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`htpasswd: ${r.stderr}`);
      writeFileSync(join(this.dir, 'htpasswd'), r.stdout);
      yml += `auth:\n  htpasswd:\n    realm: berth-test\n    path: ${join(this.dir, 'htpasswd')}\n`;
    }
    if (this.opts.token) {
      const t = this.opts.token;
      yml += `auth:\n  token:\n    realm: ${t.realm}\n    service: ${t.service}\n    issuer: ${t.issuer}\n    rootcertbundle: ${t.rootcertbundle}\n`;
    }
    writeFileSync(join(this.dir, 'config.yml'), yml);
    this.proc = spawn('docker-registry', ['serve', join(this.dir, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout!.on('data', (b: Buffer) => {
      this.log += b.toString();
    });
    this.proc.stderr!.on('data', (b: Buffer) => {
      this.log += b.toString();
    });
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (this.proc.exitCode !== null) throw new Error(`docker-registry exited:\n${this.log}`);
      const r = spawnSync('curl', ['-sk', '-o', '/dev/null', '-w', '%{http_code}', `${this.url}/v2/`], { encoding: 'utf8' });
      if (r.stdout === '200' || r.stdout === '401') return;
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error(`docker-registry did not answer:\n${this.log}`);
  }

  /** The manifest digest the registry reports for a reference (anonymous registries only). */
  digestOf(repo: string, ref: string): string {
    const accept =
      'application/vnd.oci.image.index.v1+json,application/vnd.docker.distribution.manifest.list.v2+json,application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json';
    const r = spawnSync('curl', ['-skI', '-H', `Accept: ${accept}`, `${this.url}/v2/${repo}/manifests/${ref}`], { encoding: 'utf8' });
    return /docker-content-digest:\s*(\S+)/i.exec(r.stdout)?.[1] ?? '';
  }

  /** Path of a blob's bytes in the registry's filesystem storage. */
  blobPath(digest: string): string {
    const hex = digest.replace('sha256:', '');
    return join(this.storage, 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    const done = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGTERM');
    await done;
  }
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/**
 * Docker Hub's token flow, played locally: GET /token?service=…&scope=… with
 * optional Basic credentials answers a JWT signed with `key` (its cert in
 * x5c), granting the asked actions to `users` and `anonymous` actions to all.
 */
export class TokenService {
  server?: Server;
  port = 0;
  requests: { scope: string[]; user?: string; authorized: boolean }[] = [];
  constructor(
    readonly cert: string,
    readonly key: string,
    readonly users: Record<string, string>,
    readonly anonymous: string[] = [],
  ) {}

  get realm(): string {
    return `http://127.0.0.1:${this.port}/token`;
  }

  async start(): Promise<void> {
    const der = new X509Certificate(readFileSync(this.cert)).raw;
    const key = readFileSync(this.key);
    this.server = createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      const scopes = u.searchParams.getAll('scope');
      let user: string | undefined;
      const auth = req.headers.authorization;
      if (auth?.startsWith('Basic ')) {
        const [name, pass] = Buffer.from(auth.slice(6), 'base64').toString().split(':');
        if (this.users[name!] !== pass) {
          this.requests.push({ scope: scopes, user: name, authorized: false });
          res.writeHead(401, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ details: 'incorrect username or password' }));
          return;
        }
        user = name;
      }
      this.requests.push({ scope: scopes, user, authorized: true });
      const access = scopes.map((s) => {
        const [type, name, actions] = s.split(':');
        const wanted = (actions ?? '').split(',');
        return { type, name, actions: wanted.filter((a) => (user ? true : this.anonymous.includes(a))) };
      });
      const now = Math.floor(Date.now() / 1000);
      const header = { alg: 'RS256', typ: 'JWT', x5c: [der.toString('base64')] };
      const claims = {
        iss: 'berth-test-issuer',
        sub: user ?? '',
        aud: 'berth-test-registry',
        exp: now + 300,
        nbf: now - 10,
        iat: now,
        jti: randomBytes(8).toString('hex'),
        access,
      };
      const data = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
      const token = `${data}.${b64url(sign('sha256', Buffer.from(data), key))}`;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => this.server?.close(() => r()));
  }
}

/**
 * A plain HTTP proxy in front of a registry: logs every request (method,
 * path, Range), and for the blob named in `cutBlob` closes the connection
 * after `cutAfter` bytes the first time it is served.
 */
export class CuttingProxy {
  server?: Server;
  port = 0;
  requests: { method: string; path: string; range?: string }[] = [];
  cutBlob?: string;
  cutAfter = 0;
  private cut = false;
  constructor(readonly target: number) {}

  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.requests.push({ method: req.method ?? '', path: req.url ?? '', range: req.headers.range as string | undefined });
      const up = request({ host: '127.0.0.1', port: this.target, method: req.method, path: req.url, headers: req.headers }, (ur: IncomingMessage) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        const cutting = !this.cut && this.cutBlob && req.method === 'GET' && req.url?.endsWith(`/blobs/${this.cutBlob}`);
        if (!cutting) {
          ur.pipe(res);
          return;
        }
        this.cut = true;
        let sent = 0;
        ur.on('data', (c: Buffer) => {
          if (sent + c.length >= this.cutAfter) {
            res.write(c.subarray(0, this.cutAfter - sent));
            ur.destroy();
            setTimeout(() => res.socket?.destroy(), 50);
            return;
          }
          sent += c.length;
          res.write(c);
        });
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => this.server?.close(() => r()));
  }
}
