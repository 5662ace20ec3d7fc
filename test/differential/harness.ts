/**
 * The differential harness: one scenario, the same calls, two daemons — a real
 * dockerd (Debian's docker.io, on private roots) and berthd — and a comparison
 * of what a client sees on each: status codes, error messages, content types,
 * the JSON keys present and their types, stream framing, docker CLI output.
 *
 * A scenario is a function of a `Side`; it records observations with `rec`.
 * Values are normalised before they are compared (IDs, digests, times,
 * addresses, the daemons' own directories), so what remains is the contract.
 * A difference that is on purpose is allowed by the scenario, with its reason;
 * every other difference fails the scenario.
 */
import { connect } from 'node:net';
import { request } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, type RunResult } from '../helpers.js';

/** The API version dockerd 20.10 (the reference here) speaks at most. */
export const REFERENCE_API = '1.41';

export interface Answer {
  /** `METHOD /path` as the swagger writes it, when the call matched one. */
  endpoint?: string;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text: string;
  /** The body parsed, when it is JSON (or a JSON stream: then an array of its messages). */
  json?: unknown;
}

export interface CallOptions {
  /** A JSON body (serialised) or raw bytes. */
  body?: unknown;
  headers?: Record<string, string>;
  /** API version prefix; `null` for an unversioned path. Default REFERENCE_API. */
  version?: string | null;
  /** Give up reading after this long and return what came (for endless streams). */
  timeoutMs?: number;
}

export interface Side {
  readonly name: 'dockerd' | 'berthd';
  readonly socket: string;
  /** The daemon's own directory, replaced by `<dir>` when normalising. */
  readonly dir: string;
  /** A request through node:http; the answer read whole (or until timeoutMs). */
  api(method: string, path: string, opts?: CallOptions): Promise<Answer>;
  /** Raw bytes on a fresh connection (hijacked streams); everything read until close or timeoutMs. */
  raw(request: string | Buffer, opts?: { timeoutMs?: number; write?: Array<{ afterMs: number; data: string | Buffer }> }): Promise<Buffer>;
  /** The docker CLI pointed at this daemon. */
  docker(args: string[], opts?: { input?: string | Buffer }): Promise<RunResult>;
}

export interface Allowance {
  at: RegExp;
  why: string;
}

export interface Scenario {
  /** The endpoints this scenario is about (`METHOD /path` as in the swagger). */
  endpoints: string[];
  name: string;
  run: (s: Side, rec: Recorder) => Promise<void>;
  /** Differences this scenario accepts, each with its reason. */
  allow?: Allowance[];
  /** Runs on berthd alone (behaviour of API versions dockerd 20.10 does not speak); asserts instead of comparing. */
  berthdOnly?: string;
}

const registry: Scenario[] = [];

/** Register a scenario (scenario files call this at import). */
export function scenario(s: Scenario): void {
  registry.push(s);
}

export function scenarios(): Scenario[] {
  return registry;
}

export interface EndpointEntry {
  method: string;
  path: string;
  operationId: string;
  tag: string;
  mark: string;
}

/** The generated endpoint list (scripts/gen-api-endpoints.mjs). */
export function endpointList(): EndpointEntry[] {
  return JSON.parse(readFileSync(join(REPO, 'test', 'differential', 'endpoints.json'), 'utf8')).endpoints;
}

const templates = endpointList().map((e) => ({
  key: `${e.method} ${e.path}`,
  method: e.method,
  re: new RegExp('^' + e.path.replace(/\{(\w+)\}/g, (_m, n: string) => (n === 'name' ? '(.+)' : '([^/]+)')) + '$'),
  literal: !e.path.includes('{'),
}));

/** Which swagger endpoint a call lands on (literal paths win over templated ones, as in dockerd's router). */
export function endpointOf(method: string, path: string): string | undefined {
  const p = path.replace(/^\/v\d+\.\d+/, '').split('?')[0];
  const hits = templates.filter((t) => t.method === method.toUpperCase() && t.re.test(p));
  return (hits.find((t) => t.literal) ?? hits[0])?.key;
}

/** Observations of one side, in the order they were made. */
export class Recorder {
  readonly entries: Array<{ label: string; value: unknown }> = [];
  readonly touched = new Set<string>();

  constructor(private readonly side: Side) {}

  /** Status, content type, error message exactly; the body's shape (keys and types), or its value with `exact`. */
  answer(label: string, a: Answer, opts: { exact?: boolean; ignoreBody?: boolean } = {}): void {
    if (a.endpoint) this.touched.add(a.endpoint);
    const ct = String(a.headers['content-type'] ?? '').split(';')[0];
    const v: Record<string, unknown> = { status: a.status, contentType: ct || '(none)' };
    if (a.status >= 400) v.message = normalise(errorMessage(a), this.side);
    else if (!opts.ignoreBody)
      v.body =
        a.json !== undefined
          ? opts.exact
            ? normalise(a.json, this.side)
            : shape(a.json)
          : opts.exact
            ? normalise(a.text, this.side)
            : a.text.length
              ? 'text'
              : '(empty)';
    this.entries.push({ label, value: v });
  }

  /** A value compared exactly, after normalising IDs, times and addresses. */
  exact(label: string, v: unknown): void {
    this.entries.push({ label, value: normalise(v, this.side) });
  }

  /** A value compared by shape: the keys present and the types of their values. */
  shape(label: string, v: unknown): void {
    this.entries.push({ label, value: shape(v) });
  }

  /** A docker CLI run: exit code, stdout and stderr, normalised. */
  cli(label: string, r: RunResult): void {
    this.entries.push({ label, value: { code: r.code, stdout: normalise(r.stdout, this.side), stderr: normalise(r.stderr, this.side) } });
  }
}

/** Docker's error body is {"message": …}; a stream's error is {"error": …, "errorDetail": …}. */
function errorMessage(a: Answer): unknown {
  const j = a.json as { message?: unknown } | undefined;
  if (j && typeof j === 'object' && !Array.isArray(j) && 'message' in j) return j.message;
  return a.text.trim();
}

const ID64 = /\b[0-9a-f]{64}\b/g;
const ID12 = /\b[0-9a-f]{12}\b/g;
const TIME = /\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)\b/g;
const IP4 = /\b(\d{1,3}\.){3}\d{1,3}\b/g;
const MAC = /\b([0-9a-f]{2}:){5}[0-9a-f]{2}\b/gi;

function normaliseString(s: string, side: Side): string {
  return s.split(side.dir).join('<dir>').replace(ID64, '<id>').replace(ID12, '<id12>').replace(TIME, '<time>').replace(MAC, '<mac>').replace(IP4, '<ip>');
}

/** A value with IDs, times, addresses and the daemon's directory replaced by placeholders; keys too. */
export function normalise(v: unknown, side: Side): unknown {
  if (typeof v === 'string') return normaliseString(v, side);
  if (Array.isArray(v)) return v.map((x) => normalise(x, side));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [normaliseString(k, side), normalise(x, side)]));
  return v;
}

const SHAPE_KEY = /^[0-9a-f]{12,64}$/;

/** The shape of a JSON value: objects keep their keys (IDs as keys become `<id>`), leaves become type names, arrays the union of their elements' shapes. */
export function shape(v: unknown): unknown {
  if (v === null) return 'null';
  if (Array.isArray(v)) {
    if (!v.length) return '[]';
    return [v.map(shape).reduce((a, b) => mergeShapes(a, b))];
  }
  if (typeof v === 'object')
    return Object.fromEntries(
      Object.entries(v as object)
        .map(([k, x]) => [SHAPE_KEY.test(k) ? '<id>' : k, shape(x)])
        .sort(([a], [b]) => String(a).localeCompare(String(b))),
    );
  return typeof v;
}

function mergeShapes(a: unknown, b: unknown): unknown {
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
    for (const [k, v] of Object.entries(b as Record<string, unknown>)) out[k] = k in out ? mergeShapes(out[k], v) : v;
    return out;
  }
  if (JSON.stringify(a) === JSON.stringify(b)) return a;
  return `${JSON.stringify(a as unknown)}|${JSON.stringify(b as unknown)}`;
}

export interface Difference {
  at: string;
  dockerd: unknown;
  berthd: unknown;
  why?: string;
}

/** Every place two recordings differ, as `label.path`. */
export function compare(d: Recorder, b: Recorder): Difference[] {
  const out: Difference[] = [];
  const n = Math.max(d.entries.length, b.entries.length);
  for (let i = 0; i < n; i++) {
    const de = d.entries[i];
    const be = b.entries[i];
    if (!de || !be || de.label !== be.label) {
      out.push({ at: `#${i} ${de?.label ?? be?.label}`, dockerd: de?.label ?? '(nothing)', berthd: be?.label ?? '(nothing)' });
      break;
    }
    diffValues(de.label, de.value, be.value, out);
  }
  return out;
}

function diffValues(at: string, a: unknown, b: unknown, out: Difference[]): void {
  const isObj = (x: unknown) => x !== null && typeof x === 'object' && !Array.isArray(x);
  if (isObj(a) && isObj(b)) {
    const ao = a as Record<string, unknown>;
    const bo = b as Record<string, unknown>;
    for (const k of new Set([...Object.keys(ao), ...Object.keys(bo)])) {
      if (!(k in bo)) out.push({ at: `${at}.${k}`, dockerd: ao[k], berthd: '(missing)' });
      else if (!(k in ao)) out.push({ at: `${at}.${k}`, dockerd: '(missing)', berthd: bo[k] });
      else diffValues(`${at}.${k}`, ao[k], bo[k], out);
    }
    return;
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    a.forEach((x, i) => {
      diffValues(`${at}[${i}]`, x, b[i], out);
    });
    return;
  }
  if (JSON.stringify(a) !== JSON.stringify(b)) out.push({ at, dockerd: a, berthd: b });
}

/** Split differences into the ones a scenario allows (with why) and the rest. */
export function judge(diffs: Difference[], allow: Allowance[] = []): { allowed: Difference[]; unexplained: Difference[] } {
  const allowed: Difference[] = [];
  const unexplained: Difference[] = [];
  for (const d of diffs) {
    const a = allow.find((x) => x.at.test(d.at));
    if (a) allowed.push({ ...d, why: a.why });
    else unexplained.push(d);
  }
  return { allowed, unexplained };
}

/** A request over the daemon's unix socket; reads the whole answer, or until timeoutMs. */
export function apiCall(socket: string, method: string, path: string, opts: CallOptions = {}): Promise<Answer> {
  const version = opts.version === undefined ? REFERENCE_API : opts.version;
  const full = version && !/^\/v\d/.test(path) ? `/v${version}${path}` : path;
  let body: Buffer | undefined;
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.body !== undefined) {
    if (Buffer.isBuffer(opts.body)) body = opts.body;
    else {
      body = Buffer.from(JSON.stringify(opts.body));
      headers['Content-Type'] ??= 'application/json';
    }
    headers['Content-Length'] = String(body.length);
  }
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, method, path: full, headers }, (res) => {
      const chunks: Buffer[] = [];
      let timer: NodeJS.Timeout | undefined;
      const finish = () => {
        if (timer) clearTimeout(timer);
        const buf = Buffer.concat(chunks);
        const text = buf.toString();
        resolve({ endpoint: endpointOf(method, path), status: res.statusCode ?? 0, headers: res.headers, body: buf, text, json: parseJson(text) });
      };
      if (opts.timeoutMs)
        timer = setTimeout(() => {
          res.destroy();
          finish();
        }, opts.timeoutMs);
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', finish);
      res.on('error', () => {});
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** JSON, or a stream of JSON messages (an array then), or undefined. */
export function parseJson(text: string): unknown {
  const t = text.trim();
  if (!t) return undefined;
  try {
    return JSON.parse(t);
  } catch {
    /* maybe a stream */
  }
  const msgs: unknown[] = [];
  for (const line of t.split(/\r?\n/)) {
    if (!line.trim()) continue;
    try {
      msgs.push(JSON.parse(line));
    } catch {
      return undefined;
    }
  }
  return msgs;
}

/** Raw bytes over a fresh connection to the socket. */
export function rawCall(
  socket: string,
  data: string | Buffer,
  opts: { timeoutMs?: number; write?: Array<{ afterMs: number; data: string | Buffer }> } = {},
): Promise<Buffer> {
  return new Promise((resolve) => {
    const s = connect(socket);
    const chunks: Buffer[] = [];
    const done = () => {
      clearTimeout(timer);
      s.destroy();
      resolve(Buffer.concat(chunks));
    };
    const timer = setTimeout(done, opts.timeoutMs ?? 5000);
    s.on('connect', () => {
      s.write(data);
      for (const w of opts.write ?? [])
        setTimeout(() => {
          if (!s.destroyed) s.write(w.data);
        }, w.afterMs);
    });
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('close', done);
    s.on('error', done);
  });
}

/** The header block and body of a raw HTTP answer. */
export function splitHttp(raw: Buffer): { status: number; headers: Record<string, string>; body: Buffer } {
  const end = raw.indexOf('\r\n\r\n');
  const head = (end < 0 ? raw : raw.subarray(0, end)).toString().split('\r\n');
  const status = Number(/^HTTP\/1\.\d (\d{3})/.exec(head[0] ?? '')?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const l of head.slice(1)) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status, headers, body: end < 0 ? Buffer.alloc(0) : raw.subarray(end + 4) };
}

/** Decode a body as chunked transfer encoding (a plain POST stream answered chunked). */
export function dechunk(body: Buffer): Buffer {
  const out: Buffer[] = [];
  let i = 0;
  while (i < body.length) {
    const eol = body.indexOf('\r\n', i);
    if (eol < 0) break;
    const n = parseInt(body.subarray(i, eol).toString(), 16);
    if (!Number.isFinite(n) || n === 0) break;
    out.push(body.subarray(eol + 2, eol + 2 + n));
    i = eol + 2 + n + 2;
  }
  return Buffer.concat(out);
}

/**
 * Frames of a multiplexed (stdcopy) stream: [{stream, data}], or null when the
 * bytes are not framed (a TTY stream is raw).
 */
export function frames(buf: Buffer): Array<{ stream: number; data: string }> | null {
  const out: Array<{ stream: number; data: string }> = [];
  let i = 0;
  while (i < buf.length) {
    if (buf.length - i < 8 || buf[i]! > 3 || buf[i + 1] !== 0 || buf[i + 2] !== 0 || buf[i + 3] !== 0) return null;
    const n = buf.readUInt32BE(i + 4);
    if (i + 8 + n > buf.length) return null;
    out.push({ stream: buf[i]!, data: buf.subarray(i + 8, i + 8 + n).toString() });
    i += 8 + n;
  }
  return out;
}

/** Frames merged per stream (frame boundaries are timing, not contract): {1: stdout, 2: stderr}. */
export function streams(buf: Buffer): Record<string, string> | 'raw' {
  const f = frames(buf);
  if (!f) return 'raw';
  const out: Record<string, string> = {};
  for (const x of f) out[x.stream] = (out[x.stream] ?? '') + x.data;
  return out;
}
