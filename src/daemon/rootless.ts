/**
 * berthd's rootless mode (`--rootless`, on by itself inside rootlesskit as
 * dockerd's is): where an ordinary user's daemon keeps its socket, data and
 * runtime state, the checks that it really runs as root of rootlesskit's
 * user namespace, and whether the host delegated cgroups to the user.
 * bin/berthd-rootless makes the namespace and starts berthd in it.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { inUserNamespace, type RootlessMode } from '../core/rootless.js';

/** Whether berthd was started by rootlesskit (it exports its state dir to the child). */
export function inRootlessKit(): boolean {
  return !!process.env.ROOTLESSKIT_STATE_DIR;
}

/** The user's own places, as dockerd rootless picks them (XDG base directories). */
export function rootlessPaths(): { dataRoot: string; execRoot: string; configFile: string; host: string } {
  const home = process.env.HOME || homedir();
  const runtimeDir = process.env.XDG_RUNTIME_DIR ?? '';
  const data = process.env.XDG_DATA_HOME || join(home, '.local', 'share');
  const config = process.env.XDG_CONFIG_HOME || join(home, '.config');
  return {
    dataRoot: join(data, 'berth'),
    execRoot: join(runtimeDir, 'berth'),
    configFile: join(config, 'berth', 'daemon.json'),
    host: `unix://${join(runtimeDir, 'berth.sock')}`,
  };
}

/**
 * A writable cgroup v2 subtree of our own with controllers to hand down
 * (systemd's `Delegate=yes` for the user's manager): its path, or undefined.
 * On cgroup v1 nothing is ever delegated to an unprivileged user.
 */
function delegatedCgroup(): string | undefined {
  try {
    if (!readFileSync('/proc/filesystems', 'utf8').includes('cgroup2')) return undefined;
    const own = /^0::(.*)$/m.exec(readFileSync('/proc/self/cgroup', 'utf8'))?.[1];
    if (!own) return undefined;
    const dir = join('/sys/fs/cgroup', own);
    const controllers = readFileSync(join(dir, 'cgroup.controllers'), 'utf8').split(/\s+/);
    if (!controllers.includes('memory') && !controllers.includes('pids')) return undefined;
    accessSync(join(dir, 'cgroup.subtree_control'), constants.W_OK);
    accessSync(join(dir, 'cgroup.procs'), constants.W_OK);
    return own;
  } catch {
    return undefined;
  }
}

/** Check that rootless mode can work here, and describe it. */
export function rootlessMode(): RootlessMode {
  const stateDir = process.env.ROOTLESSKIT_STATE_DIR;
  if (!stateDir || !inUserNamespace() || process.getuid?.() !== 0) {
    throw new Error(
      'rootless mode needs berthd to run inside rootlesskit\'s user namespace: start it with "berthd-rootless" (bin/berthd-rootless) as the ordinary user',
    );
  }
  if (!process.env.XDG_RUNTIME_DIR) throw new Error('XDG_RUNTIME_DIR needs to be set and writable for rootless mode');
  const parentUid = Number(process.env.ROOTLESSKIT_PARENT_EUID ?? NaN);
  const cgroupParent = delegatedCgroup();
  return { stateDir, parentUid, cgroupsDelegated: cgroupParent !== undefined, ...(cgroupParent ? { cgroupParent } : {}) };
}
