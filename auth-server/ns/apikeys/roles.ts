// Authorization of API-key principals: role checks (root implies every role) and the virtual-server scope.
import { type ApiPrincipal, type ApiRole, mayActOn } from './model.js';

export type AccessDeniedReason = 'missing_role' | 'wrong_server' | 'root_only' | 'role_escalation';

/** A principal may not do this; `wrong_server` is answered like an unknown server (tenants stay hidden). */
export class AccessDeniedError extends Error {
  override name = 'AccessDeniedError';
  constructor(
    readonly reason: AccessDeniedReason,
    message: string,
  ) {
    super(message);
  }
}

/** `root` holds every role. */
export function hasRole(principal: ApiPrincipal, role: ApiRole): boolean {
  return principal.roles.includes('root') || principal.roles.includes(role);
}

/** The configured root key (or a stored key with `root` and no server, which the API never creates). */
export function isGlobalRoot(principal: ApiPrincipal): boolean {
  return principal.serverId === null && principal.roles.includes('root');
}

/**
 * Throws AccessDeniedError unless the principal holds `role` (or one of `role` when a list is given) and,
 * when `serverId` is given, may act on that server. The role is checked first: a key without the role gets
 * the same answer whichever server it names, so it learns nothing about other tenants.
 */
export function requireRole(
  principal: ApiPrincipal,
  role: ApiRole | readonly ApiRole[],
  serverId?: string,
): void {
  const anyOf: readonly ApiRole[] = typeof role === 'string' ? [role] : role;
  if (!anyOf.some((r) => hasRole(principal, r))) {
    throw new AccessDeniedError('missing_role', `This API key lacks the role ${anyOf.join(' or ')}`);
  }
  if (serverId !== undefined && !mayActOn(principal, serverId)) {
    throw new AccessDeniedError('wrong_server', 'No such virtual server');
  }
}

/** Only the configured root key (server-wide operations: creating and deleting virtual servers, X-su). */
export function requireGlobalRoot(principal: ApiPrincipal, what: string): void {
  if (!isGlobalRoot(principal)) throw new AccessDeniedError('root_only', `Only the root API key may ${what}`);
}
