/**
 * Local registries for the registry scenarios (no Docker Hub here). Each side
 * gets its own Debian docker-registry (Distribution) on 127.0.0.1 — one
 * anonymous, one behind htpasswd — and its own `berth registry serve` (the
 * only one that answers Docker's v1 search), so the two daemons never race
 * each other for the same repository. The anonymous registries are seeded
 * with the same bytes (skopeo from one OCI layout: a two-layer image, and a
 * two-platform index of it; layers no daemon has before), so both sides see identical digests.
 *
 * Started lazily by the first scenario that awaits them; stopped at exit.
 * Each side's ports differ: `fix` puts `<registry>`, `<auth-registry>` and
 * `<search-registry>` in their place before anything is recorded.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { makeTar, tempDir, type RunResult } from '../../helpers.js';
import { Registry } from '../../registry-peer.js';
import { RegistryProc, sha256 } from '../../registry-helpers.js';
import { parseJson, type Answer, type Side } from '../harness.js';

export const AUTH_USER = 'rguser';
export const AUTH_PASS = 'rgpass';

export interface LocalRegistries {
  /** host:port of the anonymous Distribution registry, seeded with rg/seed:1 (Docker schema 2) and rg/multi:1 (OCI index). */
  plain: string;
  /** host:port of the Distribution registry that wants AUTH_USER/AUTH_PASS (htpasswd), seeded with rg/seed:1. */
  auth: string;
  /** host:port of berth's registry server (v1 search), seeded with rg/seed:1. */
  search: string;
  /** Digests of what the seed put in the anonymous registry. */
  seedDigest: string;
  multiDigest: string;
}

const started = new Map<string, Promise<LocalRegistries>>();
const procs: Array<{ proc?: { kill(sig?: NodeJS.Signals): boolean; exitCode: number | null } }> = [];
const dirs: string[] = [];

process.on('exit', () => {
  for (const p of procs) if (p.proc && p.proc.exitCode === null) p.proc.kill('SIGTERM');
  for (const d of dirs) spawnSync('rm', ['-rf', d]);
});

/** This side's registries, started and seeded on first use. */
export function registries(s: Side): Promise<LocalRegistries> {
  let p = started.get(s.name);
  if (!p) {
    p = start();
    started.set(s.name, p);
  }
  return p;
}

let layout: Promise<{ dir: string; seed: string; multi: string }> | undefined;

async function start(): Promise<LocalRegistries> {
  const dir = tempDir('berth-diff-registry-');
  dirs.push(dir);
  const plain = new Registry(join(dir, 'plain'));
  const auth = new Registry(join(dir, 'auth'), { htpasswd: { user: AUTH_USER, password: AUTH_PASS } });
  const search = new RegistryProc(join(dir, 'search'));
  procs.push(plain, auth, search);
  await Promise.all([plain.start(), auth.start(), search.start()]);
  // They must not keep the test process alive: the exit handler stops them.
  for (const p of [plain.proc, auth.proc, search.proc]) {
    p?.unref();
    (p?.stdout as Socket | null)?.unref();
    (p?.stderr as Socket | null)?.unref();
  }
  const l = await (layout ??= writeLayout());
  copy(l.dir, 'seed', `${plain.host}/rg/seed:1`, ['--format', 'v2s2']);
  copy(l.dir, 'multi', `${plain.host}/rg/multi:1`, ['--all']);
  copy(l.dir, 'seed', `${auth.host}/rg/seed:1`, ['--format', 'v2s2', '--dest-creds', `${AUTH_USER}:${AUTH_PASS}`]);
  copy(l.dir, 'seed', `${search.host}/rg/seed:1`, ['--format', 'v2s2']);
  return { plain: plain.host, auth: auth.host, search: search.host, seedDigest: plain.digestOf('rg/seed', '1'), multiDigest: plain.digestOf('rg/multi', '1') };
}

function copy(dir: string, ref: string, dest: string, extra: string[]): void {
  const r = spawnSync('skopeo', ['copy', '-q', ...extra, '--dest-tls-verify=false', `oci:${dir}:${ref}`, `docker://${dest}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`skopeo copy to ${dest}: ${r.stderr}`);
}

/**
 * One OCI layout: `seed` (two small layers, one with a symlink, and a
 * history as a build leaves it) and `multi` (an index of linux/amd64 and
 * linux/arm64 images of the same layers).
 */
async function writeLayout(): Promise<{ dir: string; seed: string; multi: string }> {
  const dir = tempDir('berth-diff-rg-layout-');
  dirs.push(dir);
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  const put = (b: Buffer) => {
    const digest = sha256(b);
    writeFileSync(join(dir, 'blobs', 'sha256', digest.slice(7)), b);
    return { digest, size: b.length };
  };
  const tars = [
    await makeTar({
      'bin/': { type: 'directory' },
      'bin/rg': 'x'.repeat(3000),
      'bin/rg-link': { type: 'symlink', linkname: 'rg' },
      'etc/': { type: 'directory' },
      'etc/rg.conf': 'a=1\n',
    }),
    await makeTar({ 'rg.txt': 'rg\n' }),
  ];
  const layers = tars.map((t) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...put(gzipSync(t, { level: 1 })) }));
  const created = '2024-01-02T03:04:05Z';
  const image = (architecture: string) => {
    const config = put(
      Buffer.from(
        JSON.stringify({
          architecture,
          os: 'linux',
          created,
          config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'], Labels: { 'rg.seed': '1' } },
          rootfs: { type: 'layers', diff_ids: tars.map((t) => sha256(t)) },
          history: [
            { created, created_by: '/bin/sh -c #(nop) ADD file:rg in / ' },
            { created, created_by: '/bin/sh -c echo rg > /rg.txt', comment: 'seed' },
            { created, created_by: '/bin/sh -c #(nop)  CMD ["sh"]', empty_layer: true },
          ],
        }),
      ),
    );
    const manifest = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers,
    };
    return { mediaType: manifest.mediaType, ...put(Buffer.from(JSON.stringify(manifest))) };
  };
  const amd = image('amd64');
  const arm = image('arm64');
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      { ...amd, platform: { architecture: 'amd64', os: 'linux' } },
      { ...arm, platform: { architecture: 'arm64', os: 'linux' } },
    ],
  };
  const idx = { mediaType: index.mediaType, ...put(Buffer.from(JSON.stringify(index))) };
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        { ...amd, annotations: { 'org.opencontainers.image.ref.name': 'seed' } },
        { ...idx, annotations: { 'org.opencontainers.image.ref.name': 'multi' } },
      ],
    }),
  );
  return { dir, seed: amd.digest, multi: idx.digest };
}

/** A string, or any JSON value, with this side's registry addresses replaced by names. */
export function fixValue<T>(v: T, r: LocalRegistries): T {
  const sub = (x: string) => x.split(r.plain).join('<registry>').split(r.auth).join('<auth-registry>').split(r.search).join('<search-registry>');
  const walk = (x: unknown): unknown => {
    if (typeof x === 'string') return sub(x);
    if (Array.isArray(x)) return x.map(walk);
    if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, y]) => [sub(k), walk(y)]));
    return x;
  };
  return walk(v) as T;
}

/** An answer with this side's registry addresses replaced. */
export function fix(a: Answer, r: LocalRegistries): Answer {
  const text = fixValue(a.text, r);
  return { ...a, text, body: Buffer.from(text), json: parseJson(text) };
}

export function fixCli(x: RunResult, r: LocalRegistries): RunResult {
  return { ...x, stdout: fixValue(x.stdout, r), stderr: fixValue(x.stderr, r) };
}

export interface JsonMsg {
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  aux?: Record<string, unknown>;
  error?: string;
  errorDetail?: { message?: string };
}

const REPEATED = new Set(['Downloading', 'Extracting', 'Pushing', 'Waiting']);
/**
 * dockerd's transfer manager hands a watcher only a layer's latest progress, so a
 * status superseded at once (Verifying Checksum, right before Download complete)
 * reaches the client or not by timing; Berth always sends it. Progress ticks
 * (Downloading, Pushing) come on a timer on both sides: a small layer moved within
 * one tick has none, and whether it does depends on the machine's load.
 */
const MAY_SKIP = new Set(['Verifying Checksum', 'Downloading', 'Pushing']);

/**
 * A pull or push stream as its contract: the messages without an id in
 * order, and each layer's statuses in order (runs of progress updates
 * collapsed to one: how many come is timing), layers in order of first
 * appearance. Interleaving between layers is timing too, so it is dropped.
 */
export function streamSummary(a: Answer): unknown {
  const msgs = (Array.isArray(a.json) ? a.json : []) as JsonMsg[];
  const general: unknown[] = [];
  const layers = new Map<string, string[]>();
  for (const m of msgs) {
    if (m.id === undefined || m.aux) {
      general.push(
        m.aux ? { aux: m.aux } : m.error ? { error: m.error, errorDetail: m.errorDetail } : { status: m.status, ...(m.id !== undefined ? { id: m.id } : {}) },
      );
      continue;
    }
    if (!layers.has(m.id) && !/^[0-9a-f]{12}$/.test(m.id)) {
      general.push({ status: m.status, id: m.id });
      continue;
    }
    const seq = layers.get(m.id) ?? [];
    layers.set(m.id, seq);
    if (MAY_SKIP.has(m.status ?? '')) continue;
    if (REPEATED.has(m.status ?? '') && seq[seq.length - 1] === m.status) continue;
    seq.push(m.status ?? '');
  }
  return { general, layers: [...layers.values()] };
}

/** Each kind of message's keys and the types of their values (a progress message has current/total and a bar). */
export function messageShapes(a: Answer): unknown {
  const msgs = (Array.isArray(a.json) ? a.json : []) as JsonMsg[];
  const out: Record<string, string> = {};
  for (const m of msgs) {
    const kind = m.aux
      ? 'aux'
      : m.error
        ? 'error'
        : (m.status ?? '')
            .replace(/[0-9a-f]{12,}|<.*|\d+/g, '')
            .split(':')[0]!
            .trim();
    const keys = Object.entries(m)
      .map(([k, v]) => `${k}:${v && typeof v === 'object' ? `{${Object.keys(v).sort().join(',')}}` : typeof v}`)
      .sort()
      .join(' ');
    out[kind] = keys;
  }
  return Object.fromEntries(Object.entries(out).sort());
}

/**
 * The docker CLI's pull/push output without a terminal: one line per
 * message, in an order that interleaves layers by timing — so the lines
 * with a layer id are grouped per layer (first appearance), the others kept
 * in order.
 */
export function cliLines(x: RunResult): RunResult {
  const lines = x.stdout.split('\n');
  const general: string[] = [];
  const layers = new Map<string, string[]>();
  for (const l of lines) {
    const m = /^([0-9a-f]{12}): (.*)$/.exec(l);
    if (!m) {
      general.push(l);
      continue;
    }
    const seq = layers.get(m[1]!) ?? [];
    layers.set(m[1]!, seq);
    // dockerd hands each watcher only a layer's latest progress, so a small layer's
    // "Verifying Checksum" is sometimes overtaken by "Download complete" and never shown.
    if (m[2] !== 'Verifying Checksum') seq.push(m[2]!);
  }
  return { ...x, stdout: [...general, ...[...layers.values()].map((s) => `<layer>: ${s.join(' | ')}`)].join('\n') };
}

export const authHeader = (user: string, password: string, serveraddress: string) =>
  // base64 URL encoding with padding, as the docker CLI sends it (dockerd 20.10 ignores a header without the padding).
  ({
    'X-Registry-Auth': Buffer.from(JSON.stringify({ username: user, password, serveraddress }))
      .toString('base64')
      .replace(/\+/g, '-')
      .replace(/\//g, '_'),
  });

/**
 * Remove every image that came from a local registry here, by ID (a digest
 * reference keeps an image as a tag does); an image that has other names too
 * (busybox tagged for a push) only loses its registry names.
 */
export async function removeRegistryImages(s: Side): Promise<void> {
  const list = await s.api('GET', '/images/json?all=1');
  const imgs = (Array.isArray(list.json) ? list.json : []) as Array<{ Id: string; RepoTags: string[] | null; RepoDigests: string[] | null }>;
  for (const i of imgs) {
    const names = [...(i.RepoTags ?? []), ...(i.RepoDigests ?? [])].filter((n) => !n.startsWith('<none>'));
    const ours = names.filter((n) => n.includes('/rg/'));
    if (!ours.length) continue;
    if (ours.length === names.length) await s.api('DELETE', `/images/${i.Id}?force=1`);
    else for (const n of ours) await s.api('DELETE', `/images/${n}`);
  }
}
