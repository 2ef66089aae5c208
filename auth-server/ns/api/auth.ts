// `X-apikey` authentication for the NS REST API: named steps that set ctx.state.apiKey (or answer 401) and
// check roles (or answer 403).
import type { Middleware } from 'koa';
import { problems } from '../../common/errors.js';
import type { AppState } from '../../common/http/app.js';
import type { ApiPrincipal, ApiRole } from '../apikeys/model.js';
import { AccessDeniedError, requireRole } from '../apikeys/roles.js';
import type { ApiKeyVerifier } from '../apikeys/verify.js';
import { accessProblem } from './problems.js';

export interface WithApiKey {
  apiKey: ApiPrincipal;
}

export type NsState = AppState & Partial<WithApiKey>;

/** Key ids are base64url; anything else in `X-su` cannot name a key. */
const keyIdPattern = /^[A-Za-z0-9_-]{1,32}$/;

export function requireApiKey(verifier: ApiKeyVerifier): Middleware<NsState> {
  return async (ctx, next) => {
    const principal = await verifier.verify(ctx.get('x-apikey') || undefined);
    if (!principal) throw problems.unauthorized('Missing or invalid X-apikey');
    const su = ctx.get('x-su');
    if (su) {
      // X-su: the root key acts as a stored key (its server and roles), recorded as done by root.
      if (principal.keyId !== 'root' || principal.serverId !== null)
        throw problems.forbidden('Only the root API key may use X-su');
      const target = keyIdPattern.test(su) ? await verifier.impersonate(su) : undefined;
      if (!target) throw problems.unauthorized('X-su names no active API key');
      ctx.state.apiKey = target;
    } else {
      ctx.state.apiKey = principal;
    }
    await next();
  };
}

/** A route step: the principal must hold one of `roles` (root holds all); 403 otherwise. */
export function requireRoleStep(...roles: ApiRole[]): Middleware<NsState> {
  return async (ctx, next) => {
    try {
      requireRole(principalOf(ctx.state), roles);
    } catch (err) {
      if (err instanceof AccessDeniedError) throw accessProblem(err);
      throw err;
    }
    await next();
  };
}

/** The principal set by requireApiKey (a route without that step is a programming error). */
export function principalOf(state: NsState): ApiPrincipal {
  if (!state.apiKey) throw new Error('route is missing requireApiKey');
  return state.apiKey;
}

/** `X-nonce` is the session credential: missing → 401 (an unknown one is 404, see docs/api.md). */
export function nonceHeader(get: (name: string) => string): string {
  const nonce = get('x-nonce');
  if (!nonce) throw problems.unauthorized('Missing X-nonce');
  return nonce;
}
