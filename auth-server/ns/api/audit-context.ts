// Who a REST request acts as, for the audit log: the API key's id, the client address and its user agent.
import type { AuditContext } from '../audit/model.js';
import { type NsState, principalOf } from './auth.js';

/**
 * After requireApiKey. `ctx.ip` honours NEXTAUTH_TRUST_PROXY (X-Forwarded-For only behind a proxy). With
 * `X-su` the root key is the actor and the key it acts as goes into `details.actingAs`.
 */
export function auditContextOf(ctx: {
  state: NsState;
  ip: string;
  get(field: string): string;
}): AuditContext {
  const principal = principalOf(ctx.state);
  const origin = { ip: ctx.ip || null, userAgent: ctx.get('user-agent') || null };
  if (principal.impersonatedBy !== undefined)
    return { actor: { kind: 'apikey', id: principal.impersonatedBy }, actingAs: principal.keyId, ...origin };
  return { actor: { kind: 'apikey', id: principal.keyId }, ...origin };
}
