/**
 * Running CNI plugins as the CNI spec (1.0.0) says: one executable per
 * plugin, found in the plugin dirs; the operation and the container in
 * CNI_* environment variables; the plugin's network configuration on stdin;
 * a result (or an error object) on stdout.
 *
 * A network configuration list is run as libcni runs it: ADD calls each
 * plugin in order, handing each the previous one's result as `prevResult`;
 * DEL calls them in reverse order with the result the ADD produced; CHECK
 * calls them in order with that result. `runtimeConfig` carries only the
 * capabilities a plugin declares (portMappings for portmap).
 *
 * The ADD's result is cached by the caller (see CniAttachment): DEL needs it,
 * and DEL must work after berthd crashed and restarted.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../core/proc.js';
import { BerthError } from '../core/errors.js';

export const CNI_VERSION = '1.0.0';

/** Where Debian's containernetworking-plugins and the upstream tarball put plugins. */
export const CNI_PATH = ['/usr/lib/cni', '/opt/cni/bin', '/usr/libexec/cni'];

export interface PluginConf {
  type: string;
  capabilities?: Record<string, boolean>;
  [k: string]: unknown;
}
export interface NetConfList {
  cniVersion: string;
  name: string;
  plugins: PluginConf[];
}

export interface CniInterface {
  name: string;
  mac?: string;
  sandbox?: string;
}
export interface CniIp {
  address: string;
  gateway?: string;
  interface?: number;
}
export interface CniResult {
  cniVersion: string;
  interfaces?: CniInterface[];
  ips?: CniIp[];
  routes?: unknown[];
  dns?: unknown;
}

export interface CniRuntime {
  containerId: string;
  netns: string;
  ifName: string;
  /** CNI_ARGS pairs, e.g. IP=172.30.0.5 for host-local. */
  args?: Record<string, string>;
  /** Capability arguments: { portMappings: [...] }. */
  runtimeConfig?: Record<string, unknown>;
}

export class CniError extends BerthError {
  constructor(
    readonly plugin: string,
    readonly code: number,
    msg: string,
  ) {
    super(msg, 500);
  }
}

function pluginPath(type: string): string {
  for (const d of CNI_PATH) {
    const p = join(d, type);
    if (existsSync(p)) return p;
  }
  throw new CniError(type, 0, `failed to find plugin "${type}" in path [${CNI_PATH.join(' ')}]`);
}

async function execPlugin(command: 'ADD' | 'DEL' | 'CHECK', conf: Record<string, unknown>, rt: CniRuntime): Promise<CniResult | undefined> {
  const type = String(conf.type);
  const args = Object.entries({ IgnoreUnknown: '1', ...(rt.args ?? {}) })
    .map(([k, v]) => `${k}=${v}`)
    .join(';');
  const r = await run(pluginPath(type), [], {
    env: {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      CNI_COMMAND: command,
      CNI_CONTAINERID: rt.containerId,
      CNI_NETNS: rt.netns,
      CNI_IFNAME: rt.ifName,
      CNI_ARGS: args,
      CNI_PATH: CNI_PATH.join(':'),
    },
    input: JSON.stringify(conf),
  });
  if (r.code !== 0) {
    let msg = r.stderr.trim() || `exit status ${r.code}`;
    try {
      const e = JSON.parse(r.stdout) as { code?: number; msg?: string; details?: string };
      if (e.msg) msg = e.details ? `${e.msg}: ${e.details}` : e.msg;
    } catch {
      /* not a CNI error object */
    }
    throw new CniError(type, r.code, `plugin type="${type}" failed (${command.toLowerCase()}): ${msg}`);
  }
  if (command !== 'ADD') return undefined;
  return JSON.parse(r.stdout) as CniResult;
}

/** The configuration one plugin gets: its own keys, the list's name and version, prevResult, its runtimeConfig. */
function pluginInput(list: NetConfList, p: PluginConf, rt: CniRuntime, prev: CniResult | undefined): Record<string, unknown> {
  const conf: Record<string, unknown> = { ...p, name: list.name, cniVersion: list.cniVersion };
  if (prev) conf.prevResult = prev;
  const caps = Object.keys(p.capabilities ?? {}).filter((k) => p.capabilities![k] && rt.runtimeConfig?.[k] !== undefined);
  if (caps.length) conf.runtimeConfig = Object.fromEntries(caps.map((k) => [k, rt.runtimeConfig![k]]));
  return conf;
}

export async function addNetworkList(list: NetConfList, rt: CniRuntime): Promise<CniResult> {
  let prev: CniResult | undefined;
  for (const p of list.plugins) prev = await execPlugin('ADD', pluginInput(list, p, rt, prev), rt);
  return prev ?? { cniVersion: list.cniVersion };
}

/** DEL every plugin in reverse order; the first failure is thrown after all were tried (so nothing is left half-removed). */
export async function delNetworkList(list: NetConfList, rt: CniRuntime, cached: CniResult | undefined): Promise<void> {
  let first: unknown;
  for (const p of [...list.plugins].reverse()) {
    try {
      await execPlugin('DEL', pluginInput(list, p, rt, cached), rt);
    } catch (e) {
      first ??= e;
    }
  }
  if (first) throw first;
}

export async function checkNetworkList(list: NetConfList, rt: CniRuntime, cached: CniResult): Promise<void> {
  for (const p of list.plugins) await execPlugin('CHECK', pluginInput(list, p, rt, cached), rt);
}

export function pluginsAvailable(): boolean {
  try {
    pluginPath('bridge');
    return true;
  } catch {
    return false;
  }
}
