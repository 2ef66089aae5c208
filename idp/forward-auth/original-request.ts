// The request the proxy is asking about, from the headers its forward-auth call carries (DESIGN.md §5):
// Traefik and Caddy send X-Forwarded-Method/-Proto/-Host/-Uri, nginx's auth_request X-Original-URL and
// X-Original-Method. Never from a query parameter: anyone can put anything there.
import type { IncomingHttpHeaders } from 'node:http';

export interface OriginalRequest {
  /** Absolute URL of the original request (what the browser returns to after login). */
  url: URL;
  method: string;
  /** Lower case, without port. */
  host: string;
  /** Percent-decoded, dot segments resolved, without the query. */
  path: string;
  /** nginx cannot follow a redirect from auth_request: it gets 401 with the login URL instead. */
  nginx: boolean;
}

export type OriginalRequestProblem = { problem: string };

const maxUrl = 8192;
const hostHeader =
  /^([a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])(:\d{1,5})?$/i;
const methodToken = /^[A-Z]{1,20}$/;

function single(value: string | string[] | undefined): string | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  if (first === undefined) return undefined;
  // Proxies chained behind each other append: the first entry is the client-facing one. (No split: this
  // runs several times per check, and an array per header is garbage per request.)
  const comma = first.indexOf(',');
  return (comma < 0 ? first : first.slice(0, comma)).trim() || undefined;
}

function finish(url: URL, method: string, nginx: boolean): OriginalRequest | OriginalRequestProblem {
  if (!methodToken.test(method)) return { problem: 'original method is not an HTTP method' };
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    return { problem: 'original path is not valid percent-encoding' };
  }
  // A decoded `%2e%2e` must not step past a rule (WHATWG already resolved the literal and encoded dots).
  if (/(^|\/)\.\.?(\/|$)/.test(path) || path.includes('\u0000')) {
    return { problem: 'original path has dot segments' };
  }
  return { url, method, host: url.hostname.toLowerCase(), path, nginx };
}

export function originalRequest(
  headers: IncomingHttpHeaders,
  fallbackMethod: string,
): OriginalRequest | OriginalRequestProblem {
  const nginx = fromOriginalUrl(headers, fallbackMethod);
  if (nginx === undefined) return fromForwarded(headers, fallbackMethod);
  // Traefik and Caddy pass the client's own headers on: a client-sent X-Original-URL must not override the
  // X-Forwarded-Uri the proxy wrote (that would let it pick the rule). Both present: they must agree.
  if (!('problem' in nginx) && headers['x-forwarded-uri'] !== undefined) {
    const forwarded = fromForwarded(headers, fallbackMethod);
    if ('problem' in forwarded) return forwarded;
    if (
      forwarded.url.host !== nginx.url.host ||
      forwarded.url.pathname + forwarded.url.search !== nginx.url.pathname + nginx.url.search ||
      (headers['x-forwarded-method'] !== undefined && forwarded.method !== nginx.method)
    ) {
      return { problem: 'X-Original-URL and X-Forwarded-Host/-Uri name different requests' };
    }
  }
  return nginx;
}

function fromOriginalUrl(
  headers: IncomingHttpHeaders,
  fallbackMethod: string,
): OriginalRequest | OriginalRequestProblem | undefined {
  const originalUrl = single(headers['x-original-url']);
  if (originalUrl === undefined) return undefined;
  if (originalUrl.length > maxUrl) return { problem: 'X-Original-URL too long' };
  const url = URL.parse(originalUrl);
  if (!url || !/^https?:$/.test(url.protocol) || !/^https?:\/\//i.test(originalUrl)) {
    return { problem: 'X-Original-URL is not an absolute http(s) URL' };
  }
  if (url.username || url.password) return { problem: 'X-Original-URL carries credentials' };
  const method = (single(headers['x-original-method']) ?? fallbackMethod).toUpperCase();
  return finish(url, method, true);
}

function fromForwarded(
  headers: IncomingHttpHeaders,
  fallbackMethod: string,
): OriginalRequest | OriginalRequestProblem {
  const proto = (single(headers['x-forwarded-proto']) ?? '').toLowerCase();
  const host = single(headers['x-forwarded-host']);
  const uri = single(headers['x-forwarded-uri']) ?? '/';
  if (proto !== 'http' && proto !== 'https') return { problem: 'X-Forwarded-Proto missing or not http(s)' };
  if (!host || !hostHeader.test(host)) return { problem: 'X-Forwarded-Host missing or not a host name' };
  if (uri.length > maxUrl || !uri.startsWith('/')) return { problem: 'X-Forwarded-Uri must be a path' };
  // Concatenated, never resolved against a base: `//evil/x` stays a path on `host`.
  const url = URL.parse(`${proto}://${host}${uri}`);
  if (!url || url.hostname !== host.replace(/:\d+$/, '').toLowerCase())
    return { problem: 'X-Forwarded-Uri changes the host' };
  const method = (single(headers['x-forwarded-method']) ?? fallbackMethod).toUpperCase();
  return finish(url, method, false);
}
