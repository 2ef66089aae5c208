// Where the login page may send the browser back to (DESIGN.md §5: no open redirect): only http(s) URLs on
// the public URL's host or, when NEXTAUTH_COOKIE_DOMAIN widens the session cookie, on hosts under it.
export interface ReturnUrlScope {
  publicUrl: string;
  /** NEXTAUTH_COOKIE_DOMAIN (with or without the leading dot). */
  cookieDomain?: string | undefined;
}

const maxLength = 4096;

/** True when `host` (a URL's hostname) is one the IdP session cookie reaches. */
export function hostInScope(host: string, scope: ReturnUrlScope): boolean {
  const name = host.toLowerCase();
  if (name === new URL(scope.publicUrl).hostname.toLowerCase()) return true;
  const domain = scope.cookieDomain?.replace(/^\./, '').toLowerCase();
  return domain !== undefined && domain !== '' && (name === domain || name.endsWith(`.${domain}`));
}

/**
 * The URL itself when it is a safe place to send the browser after login, else undefined. The raw text is
 * checked before parsing because browsers read `//evil`, `/\evil` and `https:\\evil` as other hosts.
 */
export function safeReturnUrl(raw: string, scope: ReturnUrlScope): string | undefined {
  if (raw.length > maxLength) return undefined;
  // Whitespace, control characters and backslashes have no business in a URL we built or accept.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing them is the point
  if (/[\s\\\u0000-\u001f\u007f]/.test(raw)) return undefined;
  if (!/^https?:\/\/[^/]/i.test(raw)) return undefined;
  const url = URL.parse(raw);
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) return undefined;
  if (url.username !== '' || url.password !== '') return undefined;
  // The session cookie is Secure behind an https public URL: an http target would only loop back to login.
  if (scope.publicUrl.startsWith('https:') && url.protocol !== 'https:') return undefined;
  if (!hostInScope(url.hostname, scope)) return undefined;
  return url.href;
}

/**
 * The hosts the generic login page (`/login/{server}?return_to=`, idp/session/return-to.ts `allowHost`) may
 * send the browser back to for forward-auth: the same scope, https only behind an https public URL.
 */
export function forwardAuthHosts(scope: ReturnUrlScope): (url: URL) => boolean {
  return (url) => safeReturnUrl(url.href, scope) !== undefined;
}
