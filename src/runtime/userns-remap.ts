/**
 * `--userns-remap` as dockerd reads it: `default` (a `berthremap` user and
 * group, made if missing, with a 65536-id range added to /etc/subuid and
 * /etc/subgid if it has none), `USER[:GROUP]` or `UID[:GID]`. The user's and
 * group's subordinate ranges become the container's uid and gid mappings:
 * container id 0 is the first id of the lowest range, and so on upwards.
 */
import { readFile } from 'node:fs/promises';
import type { IdMap, IdRange } from '../core/idmap.js';
import { run } from '../core/proc.js';

export const DEFAULT_REMAP_USER = 'berthremap';
/** dockerd's: the first free range at or above this start, 65536 ids long. */
const RANGE_FLOOR = 100000;
const RANGE_SIZE = 65536;

export interface Remap {
  /** The user and group the ranges belong to, as `docker info` would name them. */
  user: string;
  group: string;
  map: IdMap;
}

interface Entry {
  name: string;
  id: number;
}

async function readLines(file: string): Promise<string[][]> {
  try {
    return (await readFile(file, 'utf8'))
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split(':'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/** A user (passwd) or group entry by name or numeric id. */
async function lookup(file: string, ref: string): Promise<Entry | undefined> {
  const numeric = /^\d+$/.test(ref);
  for (const f of await readLines(file)) {
    const name = f[0] ?? '';
    const id = Number(f[2]);
    if (numeric ? id === Number(ref) : name === ref) return { name, id };
  }
  return undefined;
}

/** The ranges /etc/subuid (or subgid) gives a user, by name or by id. */
async function subRanges(file: string, who: Entry): Promise<Array<{ start: number; size: number }>> {
  return (await readLines(file))
    .filter((f) => f[0] === who.name || f[0] === String(who.id))
    .map((f) => ({ start: Number(f[1]), size: Number(f[2]) }))
    .filter((r) => Number.isSafeInteger(r.start) && Number.isSafeInteger(r.size) && r.size > 0)
    .sort((a, b) => a.start - b.start);
}

/** The first RANGE_SIZE ids at or above RANGE_FLOOR no entry of `file` overlaps (dockerd's choice). */
async function freeStart(file: string): Promise<number> {
  const taken = (await readLines(file)).map((f) => ({ start: Number(f[1]), end: Number(f[1]) + Number(f[2]) })).filter((r) => Number.isSafeInteger(r.end));
  let start = RANGE_FLOOR;
  for (let moved = true; moved; ) {
    moved = false;
    for (const r of taken)
      if (start < r.end && r.start < start + RANGE_SIZE) {
        start = r.end;
        moved = true;
      }
  }
  return start;
}

/** The berthremap user and group, and their ranges, made if missing; running it twice changes nothing. */
async function ensureDefaultUser(): Promise<void> {
  if (!(await lookup('/etc/passwd', DEFAULT_REMAP_USER))) {
    const r = await run('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/bin/false', DEFAULT_REMAP_USER]);
    // Another daemon starting at the same moment may have made it (exit 9: name in use).
    if (r.code !== 0 && r.code !== 9) throw new Error(`Error during user creation: ${DEFAULT_REMAP_USER}: ${r.stderr.trim()}`);
  }
  const user = (await lookup('/etc/passwd', DEFAULT_REMAP_USER))!;
  const group = (await lookup('/etc/group', DEFAULT_REMAP_USER)) ?? { name: DEFAULT_REMAP_USER, id: -1 };
  for (const [file, flag, who] of [
    ['/etc/subuid', '--add-subuids', user],
    ['/etc/subgid', '--add-subgids', group],
  ] as const) {
    if ((await subRanges(file, who)).length) continue;
    const start = await freeStart(file);
    // usermod locks the file as shadow's tools do.
    const r = await run('usermod', [flag, `${start}-${start + RANGE_SIZE - 1}`, DEFAULT_REMAP_USER]);
    if (r.code !== 0) throw new Error(`Can't create ID mappings: adding ${file} range for ${DEFAULT_REMAP_USER}: ${r.stderr.trim()}`);
  }
}

function toRanges(ranges: Array<{ start: number; size: number }>): IdRange[] {
  const out: IdRange[] = [];
  let next = 0;
  for (const r of ranges) {
    out.push({ containerID: next, hostID: r.start, size: r.size });
    next += r.size;
  }
  return out;
}

/** Parse and resolve a `--userns-remap` value into the mapping every container gets. */
export async function resolveRemap(value: string): Promise<Remap> {
  const spec = value.trim();
  if (!spec) throw new Error('invalid userns-remap: empty value');
  let [userRef, groupRef] = spec.split(':') as [string, string | undefined];
  if (spec === 'default') {
    await ensureDefaultUser();
    userRef = DEFAULT_REMAP_USER;
    groupRef = DEFAULT_REMAP_USER;
  }
  if (userRef === 'root' || userRef === '0') throw new Error('Remapping to root is not allowed; use another user for --userns-remap');
  const user = await lookup('/etc/passwd', userRef);
  if (!user) throw new Error(/^\d+$/.test(userRef) ? `Uid ${userRef} has no entry in /etc/passwd` : `Error during uid lookup for "${userRef}": user not found`);
  // As dockerd: without a group, the group named like the user.
  const gref = groupRef ?? user.name;
  const group = (await lookup('/etc/group', gref)) ?? (groupRef === undefined ? { name: user.name, id: -1 } : undefined);
  if (!group) throw new Error(`Error during gid lookup for "${gref}": group not found`);
  const uids = await subRanges('/etc/subuid', user);
  if (!uids.length) throw new Error(`Can't create ID mappings: no subuid ranges found for user "${user.name}"`);
  const gids = await subRanges('/etc/subgid', group);
  if (!gids.length) throw new Error(`Can't create ID mappings: no subgid ranges found for group "${group.name}"`);
  return { user: user.name, group: group.name, map: { uid: toRanges(uids), gid: toRanges(gids) } };
}
