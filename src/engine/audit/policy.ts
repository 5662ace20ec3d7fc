/**
 * The authorization policy: which identities may do which actions (see
 * actions.ts), read from a JSON file (daemon.json `authorization-policy`).
 * Docker needs an authorization plugin for this; Berth has it built in and
 * answers a refusal as dockerd answers a plugin's: 403 with
 * "authorization denied by plugin berth-policy: …".
 *
 *     {
 *       "actions": { "observe": ["container.list", "container.logs", "container.stats"] },
 *       "rules": [
 *         { "name": "monitoring", "groups": ["monitor"], "allow": ["observe", "system.*"] },
 *         { "name": "ci", "tls-cns": ["ci-runner"], "allow": ["*"], "deny": ["exec.*", "container.attach"] }
 *       ],
 *       "default": "deny"
 *     }
 *
 * The first rule naming the caller (by `uids`, `users`, `gids`, `groups`,
 * `tls-cns`, or `console-users` for a user signed in to the web console)
 * decides: the action must match an `allow` entry and no `deny` entry. A
 * caller no rule names gets `default` ("deny" unless said). Entries are action
 * names with `*` wildcards, or names from `actions`. Root on the unix socket
 * is never refused (it owns the daemon anyway), nor is `system.ping`, which
 * every client calls before anything else. A console user is judged as
 * themselves, never as the root the console connects as. Every
 * mistake in the file (unknown key, an entry that names no action) is an
 * error at load, so a typo never silently widens or narrows access.
 */
import { readFile } from 'node:fs/promises';
import { ACTION_NAMES } from './actions.js';
import { describe, type Identity, isLocalRoot } from './identity.js';

/** The name dockerd would print for the plugin that refused. */
export const POLICY_PLUGIN = 'berth-policy';

interface Rule {
  name: string;
  uids: number[];
  users: string[];
  gids: number[];
  groups: string[];
  cns: string[];
  consoleUsers: string[];
  allow: RegExp[];
  deny: RegExp[];
}

export type Decision = { allowed: true } | { allowed: false; message: string };

const RULE_KEYS = ['name', 'uids', 'users', 'gids', 'groups', 'tls-cns', 'console-users', 'allow', 'deny'];

function glob(p: string): RegExp {
  return new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
}

function list<T>(where: string, v: unknown, type: 'string' | 'number'): T[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === type && (type === 'string' || Number.isInteger(x))))
    throw new Error(`${where}: a list of ${type === 'number' ? 'integers' : 'strings'} is expected`);
  return v as T[];
}

export class Policy {
  private constructor(
    private readonly rules: Rule[],
    private readonly defaultAllow: boolean,
    /** Where it was read from, for messages. */
    readonly source: string,
  ) {}

  /** Read and check a policy file; any mistake is an error naming the file and the place. */
  static async load(path: string): Promise<Policy> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      throw new Error(`authorization policy ${path}: ${(err as Error).message}`);
    }
    return Policy.parse(text, path);
  }

  static parse(text: string, source: string): Policy {
    try {
      return Policy.parseChecked(text, source);
    } catch (err) {
      const msg = (err as Error).message;
      throw msg.startsWith('authorization policy ') ? err : new Error(`authorization policy ${source}: ${msg}`);
    }
  }

  private static parseChecked(text: string, source: string): Policy {
    const fail = (msg: string): never => {
      throw new Error(`authorization policy ${source}: ${msg}`);
    };
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      return fail(`invalid JSON: ${(err as Error).message}`);
    }
    if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return fail('not a JSON object');
    const o = doc as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!['actions', 'rules', 'default'].includes(k)) fail(`unknown key ${JSON.stringify(k)}`);
    if (o.default !== undefined && o.default !== 'allow' && o.default !== 'deny') fail('"default" must be "allow" or "deny"');
    const aliases = new Map<string, string[]>();
    if (o.actions !== undefined) {
      if (!o.actions || typeof o.actions !== 'object' || Array.isArray(o.actions)) fail('"actions" must be an object of name → list of actions');
      for (const [name, v] of Object.entries(o.actions as Record<string, unknown>)) {
        if (ACTION_NAMES.includes(name) || name.includes('*')) fail(`actions.${name}: the name of a group may not be an action or contain "*"`);
        aliases.set(name, list<string>(`actions.${name}`, v, 'string'));
      }
    }
    const patterns = (where: string, v: unknown, depth = 0): RegExp[] =>
      list<string>(where, v, 'string').flatMap((p) => {
        const alias = aliases.get(p);
        if (alias) return depth > 8 ? fail(`${where}: "${p}" refers to itself`) : patterns(`actions.${p}`, alias, depth + 1);
        const re = glob(p);
        if (!ACTION_NAMES.some((a) => re.test(a))) fail(`${where}: "${p}" names no action (see the README for the action names)`);
        return [re];
      });
    if (!Array.isArray(o.rules)) fail('"rules" must be a list');
    const rules = (o.rules as unknown[]).map((r, i): Rule => {
      const where = `rules[${i}]`;
      if (!r || typeof r !== 'object' || Array.isArray(r)) return fail(`${where}: an object is expected`);
      const x = r as Record<string, unknown>;
      for (const k of Object.keys(x)) if (!RULE_KEYS.includes(k)) fail(`${where}: unknown key ${JSON.stringify(k)}`);
      if (x.name !== undefined && typeof x.name !== 'string') fail(`${where}.name: a string is expected`);
      const rule: Rule = {
        name: (x.name as string | undefined) ?? `rules[${i}]`,
        uids: list(`${where}.uids`, x.uids, 'number'),
        users: list(`${where}.users`, x.users, 'string'),
        gids: list(`${where}.gids`, x.gids, 'number'),
        groups: list(`${where}.groups`, x.groups, 'string'),
        cns: list(`${where}.tls-cns`, x['tls-cns'], 'string'),
        consoleUsers: list(`${where}.console-users`, x['console-users'], 'string'),
        allow: patterns(`${where}.allow`, x.allow),
        deny: patterns(`${where}.deny`, x.deny),
      };
      if (!rule.uids.length && !rule.users.length && !rule.gids.length && !rule.groups.length && !rule.cns.length && !rule.consoleUsers.length)
        fail(`${where}: names nobody (give uids, users, gids, groups, tls-cns or console-users)`);
      return rule;
    });
    return new Policy(rules, o.default === 'allow', source);
  }

  private ruleFor(id: Identity): Rule | undefined {
    return this.rules.find((r) => {
      // Through the console the socket's credentials are berthd's own: only the console user names the caller.
      if (id.consoleUser !== undefined) return r.consoleUsers.includes(id.consoleUser);
      if (id.transport === 'unix') {
        if (id.uid !== undefined && r.uids.includes(id.uid)) return true;
        if (id.user !== undefined && r.users.includes(id.user)) return true;
        if (id.gids?.some((g) => r.gids.includes(g))) return true;
        if (id.groups?.some((g) => r.groups.includes(g))) return true;
      }
      return id.transport === 'tls' && id.cn !== undefined && r.cns.includes(id.cn);
    });
  }

  /** May this identity do this action? `action` undefined: a route with no action, refused. */
  decide(id: Identity, action: string | undefined): Decision {
    if (isLocalRoot(id) || action === 'system.ping') return { allowed: true };
    const rule = this.ruleFor(id);
    const ok = action !== undefined && (rule ? rule.allow.some((re) => re.test(action)) && !rule.deny.some((re) => re.test(action)) : this.defaultAllow);
    if (ok) return { allowed: true };
    const why = rule ? `by rule "${rule.name}"` : 'by default: no rule names this client';
    return { allowed: false, message: denial(`${action ?? 'this call'} is not allowed for ${describe(id)} ${why}`) };
  }
}

/** Docker's words for a refusal by an authorization plugin (moby pkg/authorization: 403). */
export function denial(msg: string): string {
  return `authorization denied by plugin ${POLICY_PLUGIN}: ${msg}`;
}

/**
 * Without a policy everyone who reaches the socket may do everything, as
 * with dockerd, except read the audit log: that is root's alone, and the
 * console users' (the console's private socket is root's, and its users
 * may already run any container).
 */
export function decideWithoutPolicy(id: Identity, action: string | undefined): Decision {
  if (action !== 'system.audit' || isLocalRoot(id) || (id.console && id.consoleUser !== undefined)) return { allowed: true };
  return { allowed: false, message: denial(`system.audit is allowed only to root without an authorization policy; ${describe(id)} is not root`) };
}
