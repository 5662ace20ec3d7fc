/**
 * Users from an Apache htpasswd file with bcrypt hashes (`htpasswd -B`), the
 * only kind Distribution accepts. bcrypt is slow by design and Docker sends
 * Basic credentials on every request, so a verified password is remembered
 * (as a salted hash) until the file changes.
 */
import { readFileSync, statSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import bcrypt from 'bcryptjs';

export class Htpasswd {
  private users = new Map<string, string>();
  private mtimeMs = -1;
  private checkedAt = 0;
  private verified = new Set<string>();
  private readonly salt = randomBytes(16);

  constructor(readonly path: string) {
    this.reload();
  }

  /** Re-read the file when it changed (checked at most once a second). */
  private reload(): void {
    const now = Date.now();
    if (now - this.checkedAt < 1000 && this.mtimeMs >= 0) return;
    this.checkedAt = now;
    const st = statSync(this.path);
    if (st.mtimeMs === this.mtimeMs) return;
    this.mtimeMs = st.mtimeMs;
    this.users = parseHtpasswd(readFileSync(this.path, 'utf8'));
    this.verified.clear();
  }

  has(user: string): boolean {
    this.reload();
    return this.users.has(user);
  }

  verify(user: string, password: string): boolean {
    this.reload();
    const hash = this.users.get(user);
    if (!hash) {
      // Spend the same time as a real check so user names cannot be probed by timing.
      bcrypt.compareSync(password, '$2y$10$abcdefghijklmnopqrstuu2Cwz8bKxsCNvB.0xQ8GeGhAIXe0ygWC');
      return false;
    }
    const key = createHash('sha256').update(this.salt).update(user).update('\0').update(password).digest('hex');
    if (this.verified.has(key)) return true;
    const ok = bcrypt.compareSync(password, hash);
    if (ok) this.verified.add(key);
    return ok;
  }
}

/** `user:hash` lines; blank lines and comments skipped; entries that are not bcrypt are ignored. */
export function parseHtpasswd(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const i = line.indexOf(':');
    if (i <= 0) continue;
    const hash = line.slice(i + 1);
    if (!/^\$2[abxy]?\$\d\d\$/.test(hash)) continue;
    out.set(line.slice(0, i), hash);
  }
  return out;
}
