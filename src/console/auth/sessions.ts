/**
 * Console sessions: a random id in an HttpOnly, SameSite=Strict cookie
 * (Secure over TLS), each with its own CSRF token. A session ends after
 * 30 minutes idle or 12 hours in all (both settable for tests), or at
 * logout. Kept in memory: a berthd restart signs everybody out.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';

export const COOKIE = 'berth_console';

export interface Session {
  id: string;
  user: string;
  csrf: string;
  created: number;
  seen: number;
}

export interface SessionLimits {
  idleMs: number;
  absoluteMs: number;
}

export const DEFAULT_LIMITS: SessionLimits = { idleMs: 30 * 60_000, absoluteMs: 12 * 3600_000 };

export class Sessions {
  private readonly byId = new Map<string, Session>();
  constructor(
    private readonly limits: SessionLimits = DEFAULT_LIMITS,
    /** The clock, in ms (a test moves it by hours). */
    private readonly now: () => number = Date.now,
  ) {}

  create(user: string): Session {
    this.sweep();
    const now = this.now();
    const s: Session = { id: randomBytes(32).toString('base64url'), user, csrf: randomBytes(32).toString('base64url'), created: now, seen: now };
    this.byId.set(s.id, s);
    return s;
  }

  /** The live session a cookie names (touching it), or undefined when absent, unknown or expired. */
  get(id: string | undefined): Session | undefined {
    if (!id) return undefined;
    const s = this.byId.get(id);
    if (!s) return undefined;
    const now = this.now();
    if (now - s.seen > this.limits.idleMs || now - s.created > this.limits.absoluteMs) {
      this.byId.delete(id);
      return undefined;
    }
    s.seen = now;
    return s;
  }

  end(id: string): void {
    this.byId.delete(id);
  }

  cookie(s: Session, secure: boolean): string {
    return `${COOKIE}=${s.id}; Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}; Max-Age=${Math.floor(this.limits.absoluteMs / 1000)}`;
  }

  static clearCookie(secure: boolean): string {
    return `${COOKIE}=; Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}; Max-Age=0`;
  }

  private sweep(): void {
    const now = this.now();
    for (const [id, s] of this.byId) if (now - s.seen > this.limits.idleMs || now - s.created > this.limits.absoluteMs) this.byId.delete(id);
  }
}

/** Whether a request's CSRF token is this session's (compared in constant time). */
export function csrfMatches(s: Session, token: string | undefined): boolean {
  if (!token) return false;
  const a = Buffer.from(s.csrf);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The session cookie's value among a Cookie header's pairs. */
export function sessionCookie(header: string | undefined): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [k, v] = part.trim().split('=', 2);
    if (k === COOKIE && v) return v;
  }
  return undefined;
}
