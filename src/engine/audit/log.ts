/**
 * The audit log: one JSON line per state-changing API call (and per refusal),
 * saying who (the caller's identity), what (method, path, action, object),
 * and how it ended (status, duration). Written synchronously to an O_APPEND
 * file (0600, in a 0700 directory under the data root) so a line is on disk
 * before the next request is answered, and rotated by size: `audit.log`,
 * `audit.log.1` … keeping `maxFiles` files in all. Lines never hold bodies
 * or headers (so no X-Registry-Auth, no /auth password), and long fields are
 * cut, so a client cannot make one line huge.
 */
import { closeSync, createReadStream, existsSync, fstatSync, mkdirSync, openSync, renameSync, rmSync, writeSync, chmodSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { basename, dirname } from 'node:path';
import { checkFilterKeys, type Filters } from '../../core/filters.js';
import { InvalidArgumentError } from '../../core/errors.js';
import type { Identity } from './identity.js';
import { log } from '../../core/log.js';

/** One line of the log. */
export interface AuditEntry {
  Time: string;
  Transport: Identity['transport'];
  Uid?: number;
  Gid?: number;
  Pid?: number;
  User?: string;
  CN?: string;
  Fingerprint?: string;
  Remote?: string;
  Method: string;
  Path: string;
  Action?: string;
  Object?: string;
  Status: number;
  DurationMs: number;
  /** Set when the policy refused the call. */
  Denied?: boolean;
}

export interface AuditLogOptions {
  path: string;
  maxSize: number;
  maxFiles: number;
}

export const DEFAULT_MAX_SIZE = 20 << 20;
export const DEFAULT_MAX_FILES = 5;

/** The most characters a path or object keeps in a line. */
const FIELD_LIMIT = 512;

export function clip(s: string, limit = FIELD_LIMIT): string {
  return s.length <= limit ? s : `${s.slice(0, limit)}…(${s.length - limit} more)`;
}

export class AuditLog {
  private fd = -1;
  private size = 0;
  private failed = false;

  constructor(readonly opts: AuditLogOptions) {
    mkdirSync(dirname(opts.path), { recursive: true, mode: 0o700 });
    this.open();
  }

  private open(): void {
    this.fd = openSync(this.opts.path, 'a', 0o600);
    // An existing file keeps whatever mode it had: make it 0600 whatever made it.
    chmodSync(this.opts.path, 0o600);
    this.size = fstatSync(this.fd).size;
  }

  /** The files in order, oldest first: audit.log.(n-1) … audit.log.1, audit.log. */
  files(): string[] {
    const out: string[] = [];
    for (let i = this.opts.maxFiles - 1; i >= 1; i--) out.push(`${this.opts.path}.${i}`);
    out.push(this.opts.path);
    return out.filter((f) => existsSync(f));
  }

  private rotate(): void {
    closeSync(this.fd);
    const n = this.opts.maxFiles;
    if (n <= 1) rmSync(this.opts.path, { force: true });
    else {
      rmSync(`${this.opts.path}.${n - 1}`, { force: true });
      for (let i = n - 2; i >= 1; i--) if (existsSync(`${this.opts.path}.${i}`)) renameSync(`${this.opts.path}.${i}`, `${this.opts.path}.${i + 1}`);
      renameSync(this.opts.path, `${this.opts.path}.1`);
    }
    this.open();
  }

  write(e: AuditEntry): void {
    const line = `${JSON.stringify(e)}\n`;
    const bytes = Buffer.byteLength(line);
    try {
      if (this.size > 0 && this.size + bytes > this.opts.maxSize) this.rotate();
      writeSync(this.fd, line);
      this.size += bytes;
      this.failed = false;
    } catch (err) {
      // A full disk must not stop the API; say so once per run of failures.
      if (!this.failed) log.error('cannot write the audit log', { path: this.opts.path, error: (err as Error).message });
      this.failed = true;
    }
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  /** The entries that pass the query, oldest first, at most `limit` (the newest ones). */
  async read(q: AuditQuery): Promise<AuditEntry[]> {
    const match = matcher(q);
    const out: AuditEntry[] = [];
    for (const f of this.files()) {
      const rl = createInterface({ input: createReadStream(f), crlfDelay: Infinity });
      for await (const line of rl) {
        if (!line) continue;
        let e: AuditEntry;
        try {
          e = JSON.parse(line) as AuditEntry;
        } catch {
          continue; // a line cut by a crash
        }
        if (match(e)) out.push(e);
      }
    }
    return q.limit !== undefined && out.length > q.limit ? out.slice(out.length - q.limit) : out;
  }

  get name(): string {
    return basename(this.opts.path);
  }
}

export interface AuditQuery {
  /** Seconds since the epoch (fractional). */
  since?: number;
  until?: number;
  filters: Filters;
  limit?: number;
}

export const AUDIT_FILTERS = ['user', 'uid', 'gid', 'pid', 'cn', 'action', 'method', 'object', 'status', 'transport', 'denied'];

function glob(p: string): RegExp {
  return new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
}

/** A filter value that must be a number. */
function num(key: string, v: string): number {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`invalid filter '${key}=${v}'`);
  return Number(v);
}

/**
 * The test for one entry: every filter key must match (values of one key are
 * alternatives), as Docker's filters combine. `action` and `object` take `*`
 * wildcards; `object` also matches an ID prefix; `status` takes `4xx`.
 */
function matcher(q: AuditQuery): (e: AuditEntry) => boolean {
  checkFilterKeys(q.filters, AUDIT_FILTERS);
  const tests: Array<(e: AuditEntry) => boolean> = [];
  const f = q.filters;
  const each = (key: string, make: (v: string) => (e: AuditEntry) => boolean) => {
    const vs = f[key];
    if (!vs?.length) return;
    const ts = vs.map(make);
    tests.push((e) => ts.some((t) => t(e)));
  };
  each('user', (v) => (e) => e.User === v);
  each('uid', (v) =>
    (
      (n) => (e) =>
        e.Uid === n
    )(num('uid', v)),
  );
  each('gid', (v) =>
    (
      (n) => (e) =>
        e.Gid === n
    )(num('gid', v)),
  );
  each('pid', (v) =>
    (
      (n) => (e) =>
        e.Pid === n
    )(num('pid', v)),
  );
  each('cn', (v) => (e) => e.CN === v);
  each('transport', (v) => (e) => e.Transport === v);
  each('method', (v) => (e) => e.Method === v.toUpperCase());
  each('action', (v) =>
    (
      (re) => (e) =>
        e.Action !== undefined && re.test(e.Action)
    )(glob(v)),
  );
  each('object', (v) =>
    (
      (re) => (e) =>
        e.Object !== undefined && (re.test(e.Object) || (v.length >= 3 && e.Object.startsWith(v)))
    )(glob(v)),
  );
  each('status', (v) => {
    const m = /^([1-5])xx$/i.exec(v);
    if (m) return (e) => Math.floor(e.Status / 100) === Number(m[1]);
    const n = num('status', v);
    return (e) => e.Status === n;
  });
  each('denied', (v) => {
    if (v !== 'true' && v !== 'false') throw new InvalidArgumentError(`invalid filter 'denied=${v}'`);
    return (e) => (e.Denied === true) === (v === 'true');
  });
  const since = q.since !== undefined ? q.since * 1000 : undefined;
  const until = q.until !== undefined ? q.until * 1000 : undefined;
  return (e) => {
    if (since !== undefined || until !== undefined) {
      const t = Date.parse(e.Time);
      if (since !== undefined && t < since) return false;
      if (until !== undefined && t > until) return false;
    }
    return tests.every((t) => t(e));
  };
}
