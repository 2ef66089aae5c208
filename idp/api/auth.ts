// `X-apikey` on the IdP management API: NS says who the key is (NsPeer.authenticateApiKey, the same check
// as NS REST), this step answers 401, 403 or 404 in NS REST's order and sets ctx.state.idpKey.
import type { Middleware } from 'koa';
import { problems } from '../../auth-server/common/errors.js';
import type { AppState } from '../../auth-server/common/http/app.js';
import type { NsKeyPrincipal, NsPeer } from '../../auth-server/common/peers.js';
import { AccessProblem } from '../../auth-server/ns/api/problems.js';
import { serverName } from '../oidc/clients.js';

export interface IdpApiState extends AppState {
  idpKey?: NsKeyPrincipal;
}

/**
 * The key must hold one of `roles` (or `root`) and may act on the path's server. The role is checked
 * first, so a key without it gets 403 whichever server it names; a server the key may not act on reads
 * as unknown (404), so no key learns other tenants' names (docs/decisions.md, issue #6).
 */
export function requireServerKey(ns: NsPeer, roles: readonly string[]): Middleware<IdpApiState> {
  return async (ctx, next) => {
    const server = (ctx as unknown as { params: { server?: string } }).params.server ?? '';
    const principal = await ns.authenticateApiKey(ctx.get('x-apikey') || undefined, server);
    if (!principal) throw problems.unauthorized('Missing or invalid X-apikey');
    if (!principal.roles.some((r) => r === 'root' || roles.includes(r)))
      throw new AccessProblem('missing_role', `This API key lacks the role ${roles.join(' or ')}`);
    if (!serverName.safeParse(server).success || !principal.mayActOnServer)
      throw problems.notFound('No such virtual server');
    ctx.state.idpKey = principal;
    await next();
  };
}

/** The principal set by requireServerKey (a route without that step is a programming error). */
export function keyOf(state: IdpApiState): NsKeyPrincipal {
  if (!state.idpKey) throw new Error('route is missing requireServerKey');
  return state.idpKey;
}
