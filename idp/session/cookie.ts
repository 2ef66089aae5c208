// The IdP session cookie, written by hand: koa's cookies refuse `Secure` on the plain-http hop behind a TLS
// proxy, and the attributes here are the whole security story of the cookie (DESIGN.md §5, §6).

/** Named per virtual server (DESIGN.md §6); server names are `[a-z0-9-]`, valid in a cookie name. */
export function idpCookieName(server: string): string {
  return `nextauth_idp_${server}`;
}

export interface IdpCookieOptions {
  /** The public URL is https: the cookie never travels over plain http. */
  secure: boolean;
  /** `NEXTAUTH_COOKIE_DOMAIN`; undefined keeps the cookie host-only. */
  domain?: string;
}

/** A 256-bit secret in base64url: what a cookie value must look like before any lookup. */
export const cookieSecretPattern = /^[A-Za-z0-9_-]{43}$/;

/**
 * `Set-Cookie` for the session: HttpOnly (no script reads it), SameSite=Lax (sent on top-level navigations
 * from RPs, which SSO needs, but not on cross-site subrequests or POSTs), Path=/ (forward-auth protects
 * any path of any host under the domain).
 */
export function serializeIdpCookie(
  name: string,
  value: string,
  maxAgeSeconds: number,
  options: IdpCookieOptions,
): string {
  const parts = [`${name}=${value}`, 'Path=/', `Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}`];
  if (maxAgeSeconds <= 0) parts.push('Expires=Thu, 01 Jan 1970 00:00:00 GMT');
  if (options.domain) parts.push(`Domain=${options.domain}`);
  parts.push('HttpOnly', 'SameSite=Lax');
  if (options.secure) parts.push('Secure');
  return parts.join('; ');
}

/** Clears the cookie (same Domain and Path, or the browser keeps it). */
export function clearIdpCookie(name: string, options: IdpCookieOptions): string {
  return serializeIdpCookie(name, '', 0, options);
}
