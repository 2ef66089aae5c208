// Size caps on what reaches oidc-provider, checked before it parses anything: it stores an authorization
// request's parameters (state, nonce, login_hint, …) in the interaction and session, and an end-session
// request's state, with no limit of its own but a 56 KiB body. Oversized input gets a clear error and
// nothing is stored.
import type { Context } from 'koa';

/** Whole query string (the URL must also fit Node's 16 KiB header limit, which answers 431 on its own). */
export const maxQueryLength = 8192;
/** Request bodies (form posts to the token, introspection, revocation, logout confirmation endpoints). */
export const maxBodyBytes = 16 * 1024;
/** Any one parameter; state and nonce of real RPs are well below this. */
export const maxParamLength = 2048;
/** Parameters that carry a JWT or JSON and are legitimately longer. */
export const longParamLength = 8192;
const longParams = new Set(['request', 'id_token_hint', 'claims', 'client_assertion', 'token']);

export interface RequestLimitViolation {
  status: 400 | 413;
  description: string;
}

/** The first limit this request breaks, or undefined. */
export function checkRequestLimits(
  ctx: Pick<Context, 'querystring' | 'query' | 'get'>,
): RequestLimitViolation | undefined {
  const declared = ctx.get('content-length');
  if (declared !== '' && Number(declared) > maxBodyBytes)
    return { status: 413, description: `the request body exceeds ${maxBodyBytes} bytes` };
  for (const [name, value] of Object.entries(ctx.query)) {
    const cap = longParams.has(name) ? longParamLength : maxParamLength;
    const values = Array.isArray(value) ? value : [value ?? ''];
    if (name.length > 64 || values.some((v) => v.length > cap))
      return {
        status: 400,
        description: `parameter ${name.slice(0, 64)} exceeds ${cap} characters`,
      };
  }
  if (ctx.querystring.length > maxQueryLength)
    return { status: 400, description: `the query string exceeds ${maxQueryLength} characters` };
  return undefined;
}
