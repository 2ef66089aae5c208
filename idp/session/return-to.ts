// Where a login page may send the browser back to (`return_to`): never an open redirect. The default
// policy allows pages of the IdP's own origin; forward-auth widens it to the hosts under the cookie domain.

/** The absolute URL to go back to, or undefined when `returnTo` must be refused. */
export type ReturnToPolicy = (returnTo: string) => string | undefined;

export const maxReturnToLength = 2048;

export interface ReturnToOptions {
  /** `NEXTAUTH_PUBLIC_URL`: its origin is always allowed, and a path is resolved against it. */
  publicUrl: string;
  /**
   * Other hosts allowed besides the public URL's origin (e.g. forward-auth: under NEXTAUTH_COOKIE_DOMAIN).
   * Asked only for a well-formed http(s) URL without userinfo, with the lower-cased host name.
   */
  allowHost?: (url: URL) => boolean;
}

/**
 * Refused before any URL parsing: control characters and whitespace (browsers strip tabs and newlines, so
 * `/\t/evil.example` would become `//evil.example`) and backslashes (browsers read `\` as `/` in http URLs,
 * so `/\evil.example` is protocol-relative to them while it looks like a path).
 */
function hasUnsafeCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c <= 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x5c) return true;
  }
  return false;
}

export function returnToPolicy(options: ReturnToOptions): ReturnToPolicy {
  const base = new URL(options.publicUrl);
  return (returnTo) => {
    if (returnTo.length === 0 || returnTo.length > maxReturnToLength) return undefined;
    if (hasUnsafeCharacter(returnTo)) return undefined;
    // A path of the IdP itself, but not `//host` (protocol-relative: another site).
    const relative = returnTo.startsWith('/') && !returnTo.startsWith('//');
    if (!relative && !/^https?:\/\//i.test(returnTo)) return undefined;
    const url = URL.parse(returnTo, base);
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) return undefined;
    // `https://idp.example@evil.example/` reads as the IdP to a person and goes to evil.example.
    if (url.username !== '' || url.password !== '') return undefined;
    if (url.origin === base.origin) return url.href;
    return options.allowHost?.(url) ? url.href : undefined;
  };
}
