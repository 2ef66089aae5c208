// The browser's session cookie: the nonce, httpOnly, SameSite=Lax, named per virtual server (DESIGN.md §6).

/**
 * `__Host-` on https: the browser then refuses the cookie unless Secure, Path=/ and host-only, so a sibling
 * subdomain cannot plant a nonce of its choosing (session fixation).
 */
export function sessionCookieName(server: string, secure: boolean): string {
  return `${secure ? '__Host-' : ''}nextauth_ns_${server}`;
}

export interface CookieOptions {
  secure: boolean;
  maxAgeSeconds: number;
}

/**
 * Serialized by hand rather than through koa's ctx.cookies, which refuses `Secure` on a plain-http hop
 * (a TLS-terminating proxy in front) unless proxy trust is configured.
 */
export function serializeSessionCookie(name: string, value: string, options: CookieOptions): string {
  const parts = [
    `${name}=${value}`,
    'Path=/',
    `Max-Age=${Math.max(0, Math.floor(options.maxAgeSeconds))}`,
    'HttpOnly',
    'SameSite=Lax',
  ];
  if (options.secure) parts.push('Secure');
  return parts.join('; ');
}
