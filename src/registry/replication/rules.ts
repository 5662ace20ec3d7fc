/**
 * Replication rules from the config file (Harbor's replication policies):
 * copy repositories matching a pattern to another registry (`push`) or from
 * it (`pull`), on push events of this server (`onPush`), every `interval`, or
 * only by hand (`berth registry replicate --once`).
 *
 *   "replication": { "rules": [ {
 *       "name": "to-dr", "direction": "push", "repositories": "team/**",
 *       "remote": { "url": "https://dr.example:5000", "username": "u", "password": "p", "insecure": false },
 *       "prefix": "mirror/", "onPush": true, "interval": "1h" } ] }
 */
import type { RemoteSettings } from '../proxy/upstream.js';
import { checkRemoteUrl } from '../proxy/upstream.js';
import { list, obj, onlyKeys, optBool, optDuration, optStr, repoPattern, reqStr } from '../settings.js';

export interface ReplicationRule {
  name: string;
  direction: 'push' | 'pull';
  repositories: string;
  re: RegExp;
  remote: RemoteSettings;
  /** Prepended to each repository name on the destination. */
  prefix: string;
  onPush: boolean;
  intervalMs?: number;
}

export function parseReplication(v: unknown): ReplicationRule[] {
  if (v === undefined || v === null) return [];
  const o = obj(v, 'replication');
  onlyKeys(o, ['rules'], 'replication');
  const names = new Set<string>();
  return list(o.rules, 'replication.rules').map((raw, i) => {
    const what = `replication.rules[${i}]`;
    const r = obj(raw, what);
    onlyKeys(r, ['name', 'direction', 'repositories', 'remote', 'prefix', 'onPush', 'interval'], what);
    const name = optStr(r.name, `${what}.name`) ?? `rule${i + 1}`;
    if (names.has(name)) throw new Error(`${what}.name: "${name}" is used twice`);
    names.add(name);
    const direction = r.direction ?? 'push';
    if (direction !== 'push' && direction !== 'pull') throw new Error(`${what}.direction must be push or pull`);
    const repositories = reqStr(r.repositories, `${what}.repositories`);
    const rem = obj(r.remote, `${what}.remote`);
    onlyKeys(rem, ['url', 'username', 'password', 'insecure'], `${what}.remote`);
    const url = checkRemoteUrl(reqStr(rem.url, `${what}.remote.url`), `${what}.remote.url`);
    const prefix = optStr(r.prefix, `${what}.prefix`) ?? '';
    if (prefix && !/^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*\/$/.test(prefix)) {
      throw new Error(`${what}.prefix must be repository path components ending in "/" (e.g. "mirror/")`);
    }
    const onPush = optBool(r.onPush, `${what}.onPush`) ?? false;
    if (onPush && direction === 'pull') throw new Error(`${what}: onPush applies to push rules only (a pull rule runs by interval or by hand)`);
    const intervalMs = optDuration(r.interval, `${what}.interval`);
    if (intervalMs !== undefined && intervalMs < 1000) throw new Error(`${what}.interval must be at least 1s`);
    return {
      name,
      direction,
      repositories,
      re: repoPattern(repositories),
      remote: {
        url,
        username: optStr(rem.username, `${what}.remote.username`),
        password: optStr(rem.password, `${what}.remote.password`),
        insecure: !!rem.insecure,
      },
      prefix,
      onPush,
      intervalMs,
    };
  });
}
