/**
 * Berth's own iptables chains, beside whatever dockerd (or anyone) keeps:
 *
 *   filter FORWARD      → BERTH-FORWARD (inserted first; dockerd may set the policy to DROP)
 *   BERTH-FORWARD       → BERTH-ISOLATION-1 first, then per network: accept replies, DNAT'd
 *                         (published) traffic, traffic within the network and out of it
 *   BERTH-ISOLATION-1   per network: leaving it for another of our bridges → BERTH-ISOLATION-2;
 *                       internal networks: nothing in or out
 *   BERTH-ISOLATION-2   per network: DROP into it
 *   nat POSTROUTING     → BERTH-POSTROUTING: per network, MASQUERADE what leaves the host
 *
 * Every per-network rule carries a comment "berth:<daemon tag>:<network id>": a
 * daemon only adds and deletes its own rules, and `sync` removes what belongs
 * to no network any more (after a crash). The chains and jumps stay, as
 * Docker's do: they are shared by every daemon on the host.
 */
import { run } from '../core/proc.js';
import { SystemError } from '../core/errors.js';
import { log } from '../core/log.js';
import { writeFile } from 'node:fs/promises';

export interface FirewallNet {
  id: string;
  bridge: string;
  subnet: string;
  internal: boolean;
}

type Table = 'filter' | 'nat';
interface Rule {
  table: Table;
  chain: string;
  spec: string[];
}

export const CHAINS = { forward: 'BERTH-FORWARD', iso1: 'BERTH-ISOLATION-1', iso2: 'BERTH-ISOLATION-2', post: 'BERTH-POSTROUTING' } as const;

async function ipt(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return run('iptables', ['-w', ...args]);
}

async function iptOk(args: string[]): Promise<string> {
  const r = await ipt(args);
  if (r.code !== 0) throw new SystemError(`iptables ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout;
}

async function ensureChain(table: Table, chain: string): Promise<void> {
  if ((await ipt(['-t', table, '-n', '-L', chain])).code !== 0) await iptOk(['-t', table, '-N', chain]);
}

async function ensureRule(table: Table, chain: string, spec: string[], insert: boolean): Promise<void> {
  if ((await ipt(['-t', table, '-C', chain, ...spec])).code === 0) return;
  await iptOk(['-t', table, insert ? '-I' : '-A', chain, ...(insert ? ['1'] : []), ...spec]);
}

function netRules(tag: string, n: FirewallNet): Rule[] {
  const c = ['-m', 'comment', '--comment', `berth:${tag}:${n.id.slice(0, 12)}`];
  const br = n.bridge;
  const rules: Rule[] = [
    { table: 'filter', chain: CHAINS.iso1, spec: ['-i', br, '!', '-o', br, ...c, '-j', CHAINS.iso2] },
    { table: 'filter', chain: CHAINS.iso2, spec: ['-o', br, ...c, '-j', 'DROP'] },
  ];
  if (n.internal) {
    rules.push(
      { table: 'filter', chain: CHAINS.iso1, spec: ['-i', br, '!', '-o', br, ...c, '-j', 'DROP'] },
      { table: 'filter', chain: CHAINS.iso1, spec: ['-o', br, '!', '-i', br, ...c, '-j', 'DROP'] },
      { table: 'filter', chain: CHAINS.forward, spec: ['-i', br, '-o', br, ...c, '-j', 'ACCEPT'] },
    );
    return rules;
  }
  rules.push(
    { table: 'filter', chain: CHAINS.forward, spec: ['-o', br, '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', ...c, '-j', 'ACCEPT'] },
    { table: 'filter', chain: CHAINS.forward, spec: ['-o', br, '-m', 'conntrack', '--ctstate', 'DNAT', ...c, '-j', 'ACCEPT'] },
    { table: 'filter', chain: CHAINS.forward, spec: ['-i', br, ...c, '-j', 'ACCEPT'] },
    { table: 'nat', chain: CHAINS.post, spec: ['-s', n.subnet, '!', '-o', br, ...c, '-j', 'MASQUERADE'] },
  );
  return rules;
}

/** Split a line of `iptables -S` output into arguments (it quotes comments with spaces). */
function splitArgs(line: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line))) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!);
  return out;
}

export class Firewall {
  private ready?: Promise<void>;

  /** `tag` tells this daemon's rules from another's (a hash of its data root). */
  constructor(readonly tag: string) {}

  /** Chains, jumps and IP forwarding, once per daemon start. */
  init(): Promise<void> {
    this.ready ??= (async () => {
      await writeFile('/proc/sys/net/ipv4/ip_forward', '1').catch((e) => log.warn('cannot enable IP forwarding', { error: String(e) }));
      for (const ch of [CHAINS.forward, CHAINS.iso1, CHAINS.iso2]) await ensureChain('filter', ch);
      await ensureChain('nat', CHAINS.post);
      await ensureRule('filter', CHAINS.forward, ['-j', CHAINS.iso1], true);
      await ensureRule('filter', 'FORWARD', ['-j', CHAINS.forward], true);
      await ensureRule('nat', 'POSTROUTING', ['-j', CHAINS.post], true);
    })();
    return this.ready;
  }

  async addNetwork(n: FirewallNet): Promise<void> {
    await this.init();
    for (const r of netRules(this.tag, n)) await ensureRule(r.table, r.chain, r.spec, false);
    // Keep the jump from FORWARD first: a dockerd started after us inserts its own above it.
    await ensureRule('filter', 'FORWARD', ['-j', CHAINS.forward], true);
  }

  async removeNetwork(id: string): Promise<void> {
    await this.deleteWhere((netId) => netId === id.slice(0, 12));
  }

  /** Delete our rules of networks that no longer exist; add missing rules of those that do. */
  async sync(nets: FirewallNet[]): Promise<void> {
    await this.init();
    const keep = new Set(nets.map((n) => n.id.slice(0, 12)));
    await this.deleteWhere((netId) => !keep.has(netId));
    for (const n of nets) await this.addNetwork(n);
  }

  /** Our rules (with this daemon's tag), as `-S` lines, for tests and leak checks. */
  async ownRules(): Promise<string[]> {
    const out: string[] = [];
    for (const [table, chain] of [
      ['filter', CHAINS.forward],
      ['filter', CHAINS.iso1],
      ['filter', CHAINS.iso2],
      ['nat', CHAINS.post],
    ] as const) {
      const r = await ipt(['-t', table, '-S', chain]);
      for (const l of r.stdout.split('\n')) if (l.includes(`berth:${this.tag}:`)) out.push(`${table} ${l}`);
    }
    return out;
  }

  private async deleteWhere(pred: (netId: string) => boolean): Promise<void> {
    for (const line of await this.ownRules()) {
      const [table, ...rest] = splitArgs(line);
      const m = new RegExp(`berth:${this.tag}:([0-9a-f]+)`).exec(line);
      if (!m || !pred(m[1]!)) continue;
      if (rest[0] !== '-A') continue;
      const r = await ipt(['-t', table!, '-D', ...rest.slice(1)]);
      if (r.code !== 0) log.warn('could not delete iptables rule', { rule: line, error: r.stderr.trim() });
    }
  }
}
