/**
 * Who may sign in to the web console: the users of an htpasswd file
 * (`--console-htpasswd`, bcrypt entries only, re-read when the file changes),
 * or, without one, the users set up through the one-time setup link, kept
 * hashed with bcrypt in `<data-root>/console/users.json` (0600). Passwords
 * are compared with bcryptjs (constant work whether or not the user exists).
 */
import { readFileSync, statSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import bcrypt from 'bcryptjs';
import { log } from '../../core/log.js';

/** Compared against when the user does not exist, so an unknown name costs as long as a wrong password. */
const DUMMY_HASH = bcrypt.hashSync('berth-console-no-such-user', 10);
const BCRYPT = /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/;

export class UserStore {
  private users = new Map<string, string>();
  private mtime = -1;

  /** `htpasswd`: the file given with --console-htpasswd; else `stored`, the setup users' file. */
  constructor(
    private readonly htpasswd: string | undefined,
    private readonly stored: string,
  ) {
    this.load();
  }

  /** Whether nobody can sign in yet: no htpasswd file and no user set up. */
  needsSetup(): boolean {
    this.load();
    return this.htpasswd === undefined && this.users.size === 0;
  }

  get fromFile(): boolean {
    return this.htpasswd !== undefined;
  }

  async verify(name: string, password: string): Promise<boolean> {
    this.load();
    const hash = this.users.get(name);
    const ok = await bcrypt.compare(password, hash ?? DUMMY_HASH);
    return ok && hash !== undefined;
  }

  /** The first user, from the setup page: stored hashed, 0600, written atomically. */
  async add(name: string, password: string): Promise<void> {
    if (this.htpasswd !== undefined) throw new Error('users come from the htpasswd file');
    const hash = await bcrypt.hash(password, 12);
    const next = new Map(this.users).set(name, hash);
    await mkdir(dirname(this.stored), { recursive: true, mode: 0o700 });
    const tmp = `${this.stored}.tmp`;
    await writeFile(tmp, JSON.stringify(Object.fromEntries(next), null, 1), { mode: 0o600 });
    await rename(tmp, this.stored);
    this.users = next;
    this.mtime = -1;
  }

  private load(): void {
    const file = this.htpasswd ?? this.stored;
    let m: number;
    try {
      m = statSync(file).mtimeMs;
    } catch (err) {
      if (this.htpasswd !== undefined && this.mtime !== -2) log.error('console: cannot read the htpasswd file', { file, error: (err as Error).message });
      this.mtime = -2;
      this.users = new Map();
      return;
    }
    if (m === this.mtime) return;
    this.mtime = m;
    const text = readFileSync(file, 'utf8');
    const users = new Map<string, string>();
    if (this.htpasswd === undefined) {
      try {
        for (const [k, v] of Object.entries(JSON.parse(text) as Record<string, unknown>)) if (typeof v === 'string' && BCRYPT.test(v)) users.set(k, v);
      } catch {
        log.error('console: the stored users file is not valid JSON', { file });
      }
    } else {
      for (const line of text.split('\n')) {
        const i = line.indexOf(':');
        if (i <= 0) continue;
        const [name, hash] = [line.slice(0, i), line.slice(i + 1).trim()];
        if (BCRYPT.test(hash)) users.set(name, hash);
        else log.warn('console: htpasswd entry skipped: only bcrypt hashes (htpasswd -B) are accepted', { user: name });
      }
    }
    this.users = users;
  }
}
