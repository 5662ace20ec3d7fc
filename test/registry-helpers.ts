/**
 * Test and bench helpers for the registry server: start `berth registry serve`
 * on a free loopback port, raw HTTP(S) requests, OCI image layouts on disk.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { BERTH } from './helpers.js';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text: string;
  json: any;
}

/** One HTTP request with a whole body; TLS certificates are not verified (self-signed test certs). */
export function httpReq(url: string, method = 'GET', opts: { headers?: Record<string, string | number>; body?: Buffer | string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const fn = u.protocol === 'https:' ? httpsRequest : httpRequest;
    const headers: Record<string, string | number> = { ...(opts.headers ?? {}) };
    if (opts.body !== undefined && headers['Content-Length'] === undefined) headers['Content-Length'] = Buffer.byteLength(opts.body);
    const req = fn(u, { method, headers, rejectUnauthorized: false, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        const text = body.toString();
        let json: any;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text, json });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

export const sha256 = (b: Buffer | string) => 'sha256:' + createHash('sha256').update(b).digest('hex');

export class RegistryProc {
  proc?: ChildProcess;
  log = '';
  url = '';
  port = 0;

  constructor(
    readonly root: string,
    readonly args: string[] = [],
    readonly addr = '127.0.0.1:0',
  ) {}

  async start(): Promise<void> {
    this.log = '';
    const proc = spawn(process.execPath, [BERTH, 'registry', 'serve', '--addr', this.addr, '--root', this.root, ...this.args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = proc;
    proc.stdout!.on('data', (b: Buffer) => {
      this.log += b.toString();
    });
    proc.stderr!.on('data', (b: Buffer) => {
      this.log += b.toString();
    });
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const m = /listening on (https?:\/\/[^\s]+)/.exec(this.log);
      if (m) {
        this.url = m[1]!;
        this.port = Number(new URL(this.url).port);
        return;
      }
      if (proc.exitCode !== null) throw new Error(`registry exited with ${proc.exitCode}:\n${this.log}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`registry did not start:\n${this.log}`);
  }

  /** host:port as docker and skopeo name it. */
  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const done = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGTERM');
    await done;
  }

  async kill9(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const done = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGKILL');
    await done;
  }

  req(method: string, path: string, opts: { headers?: Record<string, string | number>; body?: Buffer | string } = {}): Promise<Reply> {
    return httpReq(this.url + path, method, opts);
  }
}

export interface OciImage {
  dir: string;
  manifestDigest: string;
  layers: string[];
  config: string;
}

/**
 * Write an OCI image layout with one manifest (tag `ref`) whose layers are the
 * given tar files' bytes, gzipped.
 */
export function writeOciLayout(dir: string, ref: string, layerTars: Buffer[]): OciImage {
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  const put = (b: Buffer) => {
    const d = sha256(b);
    writeFileSync(join(dir, 'blobs', 'sha256', d.slice(7)), b);
    return { digest: d, size: b.length };
  };
  const layers = layerTars.map((t) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...put(gzipSync(t, { level: 1 })) }));
  const config = put(
    Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: { Cmd: ['sh'] },
        rootfs: { type: 'layers', diff_ids: layerTars.map((t) => sha256(t)) },
      }),
    ),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers,
    }),
  );
  const m = put(manifest);
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...m, annotations: { 'org.opencontainers.image.ref.name': ref } }],
    }),
  );
  return { dir, manifestDigest: m.digest, layers: layers.map((l) => l.digest), config: config.digest };
}

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/**
 * Push a small image (a one-layer OCI manifest, each blob in one monolithic POST) as name:ref,
 * or by its digest, untagged, when `ref` is undefined; `seed` makes its bytes its own.
 */
export async function pushSmallImage(
  r: RegistryProc,
  name: string,
  ref: string | undefined,
  seed: string,
): Promise<{ manifest: string; config: string; layer: string }> {
  const layer = Buffer.from(`layer ${seed}`);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', seed }));
  for (const b of [layer, config]) {
    const up = await r.req('POST', `/v2/${name}/blobs/uploads/?digest=${sha256(b)}`, { body: b });
    if (up.status !== 201) throw new Error(`blob upload: ${up.status} ${up.text}`);
  }
  const body = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }],
    }),
  );
  const res = await r.req('PUT', `/v2/${name}/manifests/${ref ?? sha256(body)}`, { body, headers: { 'Content-Type': OCI_MANIFEST } });
  if (res.status !== 201) throw new Error(`manifest PUT: ${res.status} ${res.text}`);
  return { manifest: sha256(body), config: sha256(config), layer: sha256(layer) };
}
