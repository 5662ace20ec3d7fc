/**
 * Who may do what: rules of repository pattern, users and actions. A pattern's
 * `*` matches any run of characters within a path component and `**` any run
 * across components; users are names, `*` (any signed-in user) or
 * `anonymous`. Without rules every signed-in user may do everything and
 * anonymous users nothing, as with Distribution's htpasswd auth.
 */
export type Action = 'pull' | 'push' | 'delete';
export const ACTIONS: Action[] = ['pull', 'push', 'delete'];

export interface AccessRule {
  repository: string;
  users: string[];
  actions: Array<Action | '*'>;
}

function patternRe(p: string): RegExp {
  let re = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '*' && p[i + 1] === '*') {
      re += '.*';
      i++;
    } else if (c === '*') re += '[^/]*';
    else re += c.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

export class AccessPolicy {
  private readonly rules: Array<AccessRule & { re: RegExp }>;

  constructor(rules: AccessRule[] = []) {
    this.rules = rules.map((r) => ({ ...r, re: patternRe(r.repository) }));
  }

  get empty(): boolean {
    return this.rules.length === 0;
  }

  /** Actions `user` (undefined: anonymous) may take on `repo`. */
  allowed(user: string | undefined, repo: string): Set<Action> {
    if (this.rules.length === 0) return new Set(user !== undefined ? ACTIONS : []);
    const out = new Set<Action>();
    for (const r of this.rules) {
      if (!r.re.test(repo)) continue;
      const who = r.users.some((u) => (user === undefined ? u === 'anonymous' : u === '*' || u === user));
      if (!who) continue;
      for (const a of r.actions) {
        if (a === '*') {
          for (const x of ACTIONS) out.add(x);
        } else out.add(a);
      }
    }
    return out;
  }
}

/** Check a rule list read from a config file; throws a message naming the bad entry. */
export function validateRules(v: unknown): AccessRule[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new Error('access: must be a list of rules');
  return v.map((r, i) => {
    if (!r || typeof r.repository !== 'string') throw new Error(`access[${i}]: "repository" pattern missing`);
    const users = r.users ?? ['*'];
    if (!Array.isArray(users) || users.some((u: unknown) => typeof u !== 'string')) throw new Error(`access[${i}]: "users" must be a list of names`);
    if (!Array.isArray(r.actions) || r.actions.some((a: unknown) => a !== '*' && !ACTIONS.includes(a as Action))) {
      throw new Error(`access[${i}]: "actions" must list pull, push, delete or *`);
    }
    return { repository: r.repository, users, actions: r.actions };
  });
}

/** `PATTERN:USERS:ACTIONS`, e.g. `library/*:alice,bob:pull,push` (the command-line form of a rule). */
export function parseRuleFlag(s: string): AccessRule {
  const parts = s.split(':');
  if (parts.length !== 3) throw new Error(`invalid access rule "${s}": expected PATTERN:USERS:ACTIONS`);
  return validateRules([{ repository: parts[0], users: parts[1]!.split(','), actions: parts[2]!.split(',') }])[0]!;
}
