// `X-apikey` authentication for the NS REST API: a named step that sets ctx.state.apiKey or answers 401.
import type { Middleware } from 'koa';
import { problems } from '../../common/errors.js';
import type { AppState } from '../../common/http/app.js';
import type { ApiPrincipal } from '../apikeys/model.js';
import type { ApiKeyVerifier } from '../apikeys/verify.js';

export interface WithApiKey {
  apiKey: ApiPrincipal;
}

export type NsState = AppState & Partial<WithApiKey>;

export function requireApiKey(verifier: ApiKeyVerifier): Middleware<NsState> {
  return async (ctx, next) => {
    const principal = await verifier.verify(ctx.get('x-apikey') || undefined);
    if (!principal) throw problems.unauthorized('Missing or invalid X-apikey');
    ctx.state.apiKey = principal;
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
