/**
 * Docker's json-file log options (`--log-opt max-size=… max-file=…`, daemon.json
 * `log-opts`) on top of conmon's k8s-file log.
 *
 * Rotation: conmon is started with `--log-size-max` = max-size. When a write would
 * pass it, conmon opens `container.log.tmp` and renames it over `container.log`
 * (conmon 2.1.6, `reopen_k8s_file`), so the full file loses its name but keeps its
 * inode. berthd holds a second name for the current file, `container.log.keep`
 * (a hard link); when `container.log` is a different inode than `.keep`, conmon has
 * rotated, and berthd shifts `.1` → `.2` … (dropping the oldest beyond max-file) and
 * renames `.keep` to `.1`, then links the new current file as `.keep`. Every file is
 * thus at most max-size, as with docker's json-file, and rotation goes on while berthd
 * is down (conmon's cap holds; only the chain of old files waits for berthd).
 * A file is lost only if conmon rotates twice before berthd links the new one.
 *
 * (conmon can also reopen its log on demand — message type 2 on its ctl fifo — but
 * rotating from berthd on a size check would overshoot max-size by whatever is written
 * between checks, and nothing would bound the file while berthd is down.)
 */
import { watch, type FSWatcher } from 'node:fs';
import { link, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { BerthError } from '../../core/errors.js';
import { ramInBytes } from '../../core/byte-sizes.js';
import { log } from '../../core/log.js';
import { validateLogConfig } from './logdrivers.js';

export const JSON_FILE = 'json-file';

export interface LogRotation {
  /** Bytes per file. */
  maxSize: number;
  /** Files kept, the current one included (docker's default 1: the file starts over). */
  maxFile: number;
}

export interface LogConfig {
  Type: string;
  Config?: Record<string, string>;
}

/**
 * A container's log config as docker settles it at create: no type means the daemon's
 * default driver, and the daemon's log-opts fill the keys the container did not set.
 * Options the driver does not take are refused with docker's words (logdrivers.ts).
 */
export function settleLogConfig(given: LogConfig | undefined, daemonOpts: Record<string, string> = {}): LogConfig {
  const type = given?.Type || JSON_FILE;
  const config = { ...(given?.Config ?? {}) };
  if (type === JSON_FILE) {
    for (const [k, v] of Object.entries(daemonOpts)) if (!(k in config)) config[k] = v;
  }
  validateLogConfig(type, config);
  return { Type: type, Config: config };
}

/**
 * What `logs --details` puts before each line: the container labels and environment
 * variables the `labels`, `labels-regex`, `env` and `env-regex` log options name,
 * as sorted, URL-escaped `k=v` pairs joined by commas (empty when none).
 */
export function logDetails(cfg: LogConfig | undefined, labels: Record<string, string> = {}, env: string[] = []): string {
  const o = cfg?.Config ?? {};
  const attrs = new Map<string, string>();
  const list = (v: string | undefined) =>
    v
      ? v
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean)
      : [];
  const wanted = (key: string, names: string[], re: string | undefined) => names.includes(key) || (!!re && new RegExp(re).test(key));
  for (const [k, v] of Object.entries(labels)) if (wanted(k, list(o.labels), o['labels-regex'])) attrs.set(k, v);
  const envMap = new Map(
    env.map((e) => {
      const i = e.indexOf('=');
      return i < 0 ? [e, ''] : [e.slice(0, i), e.slice(i + 1)];
    }),
  );
  for (const [k, v] of envMap) if (wanted(k, list(o.env), o['env-regex'])) attrs.set(k, v);
  const esc = (x: string) =>
    encodeURIComponent(x)
      .replace(/%20/g, '+')
      .replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  return [...attrs]
    .map(([k, v]) => `${esc(k)}=${esc(v)}`)
    .sort()
    .join(',');
}

/** The local driver's defaults: five files of 20 MiB. */
const LOCAL_DEFAULTS = { 'max-size': '20m', 'max-file': '5' };

/** Rotation from a json-file or local config, or null when max-size is not set. Errors read as docker's at start. */
export function logRotation(cfg: LogConfig | undefined): LogRotation | null {
  if (!cfg || (cfg.Type && cfg.Type !== JSON_FILE && cfg.Type !== 'local')) return null;
  const o = cfg.Type === 'local' ? { ...LOCAL_DEFAULTS, ...(cfg.Config ?? {}) } : (cfg.Config ?? {});
  const fail = (msg: string): never => {
    throw new BerthError(`failed to initialize logging driver: ${msg}`, 500);
  };
  let maxSize = -1;
  if (o['max-size'] !== undefined && o['max-size'] !== '') {
    try {
      maxSize = ramInBytes(o['max-size']);
    } catch (e) {
      fail((e as Error).message);
    }
  }
  let maxFile = 1;
  if (o['max-file'] !== undefined && o['max-file'] !== '') {
    if (!/^[+-]?\d+$/.test(o['max-file'])) fail(`strconv.Atoi: parsing ${JSON.stringify(o['max-file'])}: invalid syntax`);
    maxFile = Number(o['max-file']);
    if (maxFile < 1) fail('max-file cannot be less than 1');
  }
  return maxSize > 0 ? { maxSize, maxFile } : null;
}

/** The rotated files of `path` that exist, oldest first, then `path` itself (which may not exist yet). */
export async function logFiles(path: string): Promise<string[]> {
  const older: string[] = [];
  for (let k = 1; ; k++) {
    try {
      await stat(`${path}.${k}`);
    } catch {
      break;
    }
    older.unshift(`${path}.${k}`);
  }
  return [...older, path];
}

const exists = async (p: string) =>
  stat(p).then(
    (s) => s,
    () => null,
  );

/**
 * Keep the chain of rotated files for one running container (see the module comment).
 * `sync` is safe to call at any time, and is called on every change in the log's directory.
 */
export class LogKeeper {
  private watcher?: FSWatcher;
  private poll?: NodeJS.Timeout;
  private running: Promise<void> = Promise.resolve();
  private again = false;
  private busy = false;

  constructor(
    readonly path: string,
    readonly rotation: LogRotation,
  ) {}

  private get keep(): string {
    return `${this.path}.keep`;
  }

  start(): void {
    if (this.rotation.maxFile <= 1) return; // conmon starting the file over is all there is to it
    const name = basename(this.path);
    try {
      this.watcher = watch(dirname(this.path), { persistent: false }, (_e, f) => {
        if (!f || f === name) this.kick();
      });
      this.watcher.on('error', () => {
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch {
      /* the poll covers it */
    }
    this.poll = setInterval(() => this.kick(), 1000);
    this.poll.unref();
    this.kick();
  }

  stop(): void {
    this.watcher?.close();
    if (this.poll) clearInterval(this.poll);
    this.watcher = undefined;
    this.poll = undefined;
  }

  /** Run sync now, or once more after the one in progress. */
  kick(): Promise<void> {
    if (this.busy) {
      this.again = true;
      return this.running;
    }
    this.busy = true;
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.sync();
        } while (this.again);
      } catch (e) {
        log.warn('log rotation failed', { path: this.path, error: (e as Error).message });
      } finally {
        this.busy = false;
      }
    })();
    return this.running;
  }

  /** Notice a rotation by conmon and shift the old files along. */
  async sync(): Promise<void> {
    if (this.rotation.maxFile <= 1) return;
    const cur = await exists(this.path);
    if (!cur) return;
    const kept = await exists(this.keep);
    if (kept && kept.ino === cur.ino) return;
    if (kept) {
      const n = this.rotation.maxFile - 1;
      await unlink(`${this.path}.${n}`).catch(() => {});
      for (let k = n - 1; k >= 1; k--) await rename(`${this.path}.${k}`, `${this.path}.${k + 1}`).catch(() => {});
      await rename(this.keep, `${this.path}.1`);
    }
    await link(this.path, this.keep).catch(async (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
      await unlink(this.keep);
      await link(this.path, this.keep);
    });
  }
}
