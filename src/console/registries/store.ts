/**
 * The registries each console user added to the registry browser: kept
 * server-side in `<data-root>/console/registries.json` (0600, in a 0700
 * directory, written atomically), per console user, with their passwords,
 * which only the console's server reads (to call the registry); what the
 * browser gets back names whether a password is set, never the password.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { HttpError } from '../http.js';

export interface Registry {
  id: string;
  name: string;
  /** The registry's base URL: scheme, host and port (http or https), no path. */
  url: string;
  username?: string;
  password?: string;
  /** https with a certificate that is not verified (a self-signed test registry). */
  insecure?: boolean;
}

/** What the browser sees of a registry. */
export interface PublicRegistry {
  id: string;
  name: string;
  url: string;
  username?: string;
  hasPassword: boolean;
  insecure: boolean;
}

export function publicView(r: Registry): PublicRegistry {
  return { id: r.id, name: r.name, url: r.url, username: r.username, hasPassword: !!r.password, insecure: !!r.insecure };
}

/** A registry URL as the user typed it → its base URL, or a 400 naming what is wrong. Only http(s). */
export function registryUrl(raw: string): string {
  let text = raw.trim();
  // A scheme is a name and a colon not followed by a port number (host:5000 has none: https is meant).
  if (!/^[a-z][a-z0-9+.-]*:(?!\d)/i.test(text)) text = `https://${text}`;
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new HttpError(400, `invalid registry URL ${JSON.stringify(raw)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new HttpError(400, `invalid registry URL ${JSON.stringify(raw)}: only http:// and https:// registries are supported`);
  if (u.username || u.password) throw new HttpError(400, 'invalid registry URL: give the user name and password in their own fields, not in the URL');
  if (u.search || u.hash || !/^\/(v2\/?)?$/.test(u.pathname))
    throw new HttpError(400, `invalid registry URL ${JSON.stringify(raw)}: a registry is addressed by scheme, host and port only`);
  return u.origin;
}

const MAX_PER_USER = 100;

export class RegistryStore {
  private cache?: Record<string, Registry[]>;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly file: string) {}

  async list(user: string): Promise<Registry[]> {
    return (await this.load())[user] ?? [];
  }

  async get(user: string, id: string): Promise<Registry> {
    const r = (await this.list(user)).find((x) => x.id === id);
    if (!r) throw new HttpError(404, `no such registry: ${id}`);
    return r;
  }

  async add(user: string, r: Omit<Registry, 'id'>): Promise<Registry> {
    return this.change(user, (list) => {
      if (list.length >= MAX_PER_USER) throw new HttpError(400, `at most ${MAX_PER_USER} registries per user`);
      if (list.some((x) => x.url === r.url && x.username === r.username)) throw new HttpError(409, `${r.url} is already in your registries`);
      const made = { ...r, id: randomBytes(6).toString('hex') };
      return { list: [...list, made], value: made };
    });
  }

  async remove(user: string, id: string): Promise<void> {
    await this.change(user, (list) => {
      if (!list.some((x) => x.id === id)) throw new HttpError(404, `no such registry: ${id}`);
      return { list: list.filter((x) => x.id !== id), value: undefined };
    });
  }

  private async load(): Promise<Record<string, Registry[]>> {
    if (this.cache) return this.cache;
    try {
      const v = JSON.parse(await readFile(this.file, 'utf8')) as unknown;
      this.cache = v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, Registry[]>) : {};
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new HttpError(500, `cannot read the stored registries: ${(err as Error).message}`);
      this.cache = {};
    }
    return this.cache;
  }

  /** One change at a time: read, change, write the whole file atomically, then let the next one in. */
  private change<T>(user: string, f: (list: Registry[]) => { list: Registry[]; value: T }): Promise<T> {
    const run = async (): Promise<T> => {
      const all = await this.load();
      const { list, value } = f(all[user] ?? []);
      const next = { ...all, [user]: list };
      await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
      const tmp = `${this.file}.tmp`;
      await writeFile(tmp, JSON.stringify(next, null, 1), { mode: 0o600 });
      await rename(tmp, this.file);
      this.cache = next;
      return value;
    };
    const p = this.writing.then(run, run);
    this.writing = p.then(
      () => undefined,
      () => undefined,
    );
    return p;
  }
}
