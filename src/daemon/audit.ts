/**
 * berthd's audit log and authorization policy, from daemon.json and flags:
 *
 *     "audit-log": { "path": "/var/lib/berth/audit/audit.log", "max-size": "20m", "max-files": 5 }
 *     "audit-log": false                       (no audit log)
 *     "authorization-policy": "/etc/berth/policy.json"   (or --authorization-policy)
 *
 * The log is on by default, under the data root. A policy that does not
 * load stops the start; later it is re-read on SIGHUP and when the file
 * changes, and a broken edit keeps the policy in force, with an error logged.
 */
import { unwatchFile, watchFile } from 'node:fs';
import { join } from 'node:path';
import { ramInBytes } from '../core/byte-sizes.js';
import { log } from '../core/log.js';
import { AuditGate } from '../engine/audit/gate.js';
import { AuditLog, type AuditLogOptions, DEFAULT_MAX_FILES, DEFAULT_MAX_SIZE } from '../engine/audit/log.js';
import { Policy } from '../engine/audit/policy.js';

/** daemon.json's `audit-log`, checked: undefined when turned off. */
export function auditLogOptions(raw: unknown, dataRoot: string): AuditLogOptions | undefined {
  const def = { path: join(dataRoot, 'audit', 'audit.log'), maxSize: DEFAULT_MAX_SIZE, maxFiles: DEFAULT_MAX_FILES };
  if (raw === undefined || raw === true) return def;
  if (raw === false) return undefined;
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new Error('invalid audit-log: false or an object with path, max-size, max-files is expected');
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!['path', 'max-size', 'max-files'].includes(k)) throw new Error(`invalid audit-log: unknown key ${JSON.stringify(k)}`);
  const out = { ...def };
  if (o.path !== undefined) {
    if (typeof o.path !== 'string' || !o.path.startsWith('/')) throw new Error('invalid audit-log path: an absolute path is expected');
    out.path = o.path;
  }
  if (o['max-size'] !== undefined) {
    const v = o['max-size'];
    let n = NaN;
    try {
      n = typeof v === 'number' ? v : typeof v === 'string' ? ramInBytes(v) : NaN;
    } catch {
      /* invalid */
    }
    if (!Number.isSafeInteger(n) || n < 1024)
      throw new Error(`invalid audit-log max-size: ${JSON.stringify(v)}: a size of at least 1k, such as 20m, is expected`);
    out.maxSize = n;
  }
  if (o['max-files'] !== undefined) {
    const v = o['max-files'];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 1000)
      throw new Error(`invalid audit-log max-files: ${JSON.stringify(v)}: a number from 1 to 1000 is expected`);
    out.maxFiles = v;
  }
  return out;
}

export interface AuditSetup {
  gate: AuditGate;
  close(): void;
}

export async function openAudit(raw: Record<string, unknown>, dataRoot: string, policyPath: string | undefined): Promise<AuditSetup> {
  let opts: AuditLogOptions | undefined;
  try {
    opts = auditLogOptions(raw['audit-log'], dataRoot);
  } catch (err) {
    throw new Error(`unable to configure the daemon: ${(err as Error).message}`);
  }
  // A policy that does not load is a start that fails: running without the access rules the admin asked for is worse.
  const policy = policyPath ? await Policy.load(policyPath) : undefined;
  const gate = new AuditGate(opts ? new AuditLog(opts) : undefined, policy);
  if (opts) log.info('audit log', { path: opts.path });
  if (!policyPath) return { gate, close: () => gate.close() };
  log.info('authorization policy loaded', { path: policyPath });

  let reloading = false;
  const reload = async (why: string) => {
    if (reloading) return;
    reloading = true;
    try {
      gate.setPolicy(await Policy.load(policyPath));
      log.info('authorization policy reloaded', { path: policyPath, reason: why });
    } catch (err) {
      log.error('authorization policy not reloaded; the previous one stays in force', { error: (err as Error).message });
    } finally {
      reloading = false;
    }
  };
  const onHup = () => void reload('SIGHUP');
  process.on('SIGHUP', onHup);
  // Polling stat survives editors that replace the file by a rename, which fs.watch on the file does not.
  watchFile(policyPath, { interval: 1000 }, (cur, prev) => {
    if (cur.mtimeMs !== prev.mtimeMs || cur.ino !== prev.ino || cur.size !== prev.size) void reload('file changed');
  });
  return {
    gate,
    close() {
      process.off('SIGHUP', onHup);
      unwatchFile(policyPath);
      gate.close();
    },
  };
}
