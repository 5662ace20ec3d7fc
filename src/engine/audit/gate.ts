/**
 * The API's gate: one object the HTTP server consults for every request
 * (may this caller do this action?) and tells how each ended (the audit
 * line). It joins the policy (replaceable at runtime: SIGHUP or a change of
 * the file) and the audit log (optional), so the server holds no rule of
 * its own.
 */
import { type AuditEntry, type AuditLog, type AuditQuery, clip } from './log.js';
import { changesState } from './actions.js';
import type { Identity } from './identity.js';
import { type Decision, decideWithoutPolicy, type Policy } from './policy.js';

/** One API call as the router resolved it. */
export interface GateCall {
  identity: Identity;
  method: string;
  /** The request path as sent (without the query). */
  path: string;
  /** The action of the resolved route; undefined when no route matched. */
  action?: string;
  /** The container, image, network… the path names, when it names one. */
  object?: string;
}

export class AuditGate {
  constructor(
    private readonly audit: AuditLog | undefined,
    private policyValue: Policy | undefined,
  ) {}

  get policy(): Policy | undefined {
    return this.policyValue;
  }

  setPolicy(p: Policy | undefined): void {
    this.policyValue = p;
  }

  decide(call: GateCall): Decision {
    return this.policyValue ? this.policyValue.decide(call.identity, call.action) : decideWithoutPolicy(call.identity, call.action);
  }

  /** Record a finished call: every state-changing one, and every refusal. */
  done(call: GateCall, status: number, started: number, denied: boolean): void {
    if (!this.audit || (!denied && !changesState(call.method, call.action))) return;
    const id = call.identity;
    const e: AuditEntry = {
      Time: new Date().toISOString(),
      Transport: id.transport,
      Uid: id.uid,
      Gid: id.gid,
      Pid: id.pid,
      User: id.user,
      CN: id.cn === undefined ? undefined : clip(id.cn, 256),
      Fingerprint: id.fingerprint,
      Remote: id.remote,
      Method: clip(call.method, 16),
      Path: clip(call.path),
      Action: call.action,
      Object: call.object === undefined ? undefined : clip(call.object),
      Status: status,
      DurationMs: Math.round((performance.now() - started) * 1000) / 1000,
      Denied: denied || undefined,
    };
    this.audit.write(e);
  }

  /** The audit log's entries; undefined when the log is off. */
  read(q: AuditQuery): Promise<AuditEntry[]> | undefined {
    return this.audit?.read(q);
  }

  close(): void {
    this.audit?.close();
  }
}
