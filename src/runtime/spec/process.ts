/**
 * The spec's `process`: what runs, as whom, with which capabilities and limits.
 * The same object serves a container's first process and `runc exec --process`.
 */
import { capSet } from './capabilities.js';
import type { OciProcess, ProcessInput } from './types.js';

export function buildProcess(p: ProcessInput): OciProcess {
  const process: OciProcess = {
    terminal: p.terminal,
    user: { uid: p.user.uid, gid: p.user.gid, additionalGids: [...p.user.additionalGids] },
    args: [...p.args],
    env: [...p.env],
    cwd: p.cwd || '/',
    capabilities: capSet(p.capabilities),
    noNewPrivileges: p.noNewPrivileges,
  };
  if (p.rlimits) process.rlimits = p.rlimits;
  if (p.consoleSize) process.consoleSize = p.consoleSize;
  if (p.oomScoreAdj !== undefined) process.oomScoreAdj = p.oomScoreAdj;
  if (p.apparmorProfile) process.apparmorProfile = p.apparmorProfile;
  if (p.selinuxLabel) process.selinuxLabel = p.selinuxLabel;
  return process;
}
