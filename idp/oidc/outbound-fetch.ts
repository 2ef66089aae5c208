// oidc-provider's `fetch` (back-channel logout, later CIBA ping) on the allow-listed outbound client of
// DESIGN.md §6: its own guard would refuse every loopback and private address, ours allows what
// NEXTAUTH_OUTBOUND_ALLOW names and nothing else that is not public. Redirects are never followed.
import type { OutboundClient } from '../../auth-server/common/http/outbound.js';

export type FetchFunction = (url: string | URL, init?: RequestInit) => Promise<Response>;

function bodyText(body: RequestInit['body']): string | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return body;
  if (body instanceof URLSearchParams) return body.toString();
  throw new TypeError('outbound fetch: only string and form bodies are sent');
}

export function outboundFetch(client: OutboundClient): FetchFunction {
  return async (url, init = {}) => {
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((value, name) => {
      headers[name] = value;
    });
    const method = (init.method ?? 'GET').toUpperCase();
    if (method !== 'GET' && method !== 'POST') throw new TypeError(`outbound fetch: method ${method}`);
    const body = bodyText(init.body);
    const answer = await client.request(String(url), {
      method,
      headers,
      ...(body !== undefined ? { body } : {}),
    });
    const responseHeaders = new Headers();
    for (const [name, value] of Object.entries(answer.headers)) {
      if (value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) responseHeaders.append(name, v);
    }
    // A body is not allowed with these statuses in a Response.
    const empty = answer.status === 204 || answer.status === 304 || answer.status < 200;
    return new Response(empty ? null : new Uint8Array(answer.body), {
      status: answer.status,
      headers: responseHeaders,
    });
  };
}
