/** GET /berth/audit: the audit log, filtered (`berth system audit`); who may read it is the gate's decision (root, or the policy). */
import { InvalidArgumentError, NotFoundError } from '../../core/errors.js';
import type { AuditGate } from '../../engine/audit/gate.js';
import type { Router } from '../router.js';

/** `seconds[.fraction]` as the CLI sends --since/--until. */
function seconds(name: string, v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  if (!/^-?\d+(\.\d+)?$/.test(v)) throw new InvalidArgumentError(`invalid value for ${name}: ${v}`);
  return Number(v);
}

export function auditRoutes(r: Router, gate: AuditGate | undefined): void {
  r.get('/berth/audit', async (ctx) => {
    const q = {
      since: seconds('since', ctx.str('since')),
      until: seconds('until', ctx.str('until')),
      filters: ctx.filters(),
      limit: ctx.str('limit') === undefined ? undefined : ctx.int('limit', 0),
    };
    const entries = gate?.read(q);
    if (!entries) throw new NotFoundError('the audit log is off in this daemon\'s configuration ("audit-log": false)');
    ctx.send(200, await entries);
  });
}
