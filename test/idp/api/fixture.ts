// The IdP management API suites: an embedded runtime, a second virtual server, and API keys of each role
// that the role matrix needs, created through NS REST as an operator would.
import { expect } from 'chai';
import { type Embedded, rootApiKey, startEmbedded } from '../oidc/harness.js';

export interface ApiFixture {
  e: Embedded;
  keys: {
    root: string;
    /** `servers` on `default`. */
    servers: string;
    /** `root` of the `default` tenant (a stored key). */
    tenantRoot: string;
    /** `users` on `default`: a key without the IdP role. */
    users: string;
    /** `servers` on `acme`. */
    acme: string;
  };
  /** One request to `/idp/api/v1{path}` with `key` (none when undefined). */
  call(
    method: string,
    path: string,
    key: string | undefined,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<Response>;
  /** Rows of the client table (to show that a refusal stored nothing). */
  clientRows(): Promise<unknown[]>;
  /** NS audit events of a type group, newest first. */
  audit(
    type: string,
  ): Promise<
    { type: string; actor: { id: string }; subject: { id: string }; details: Record<string, unknown> }[]
  >;
  close(): Promise<void>;
}

async function ns(e: Embedded, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${e.url}/ns/api/v2${path}`, {
    method,
    headers: {
      'x-apikey': rootApiKey,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  expect(res.status, await res.clone().text()).to.be.oneOf([200, 201]);
  return res.json();
}

export async function startApiFixture(): Promise<ApiFixture> {
  const e = await startEmbedded();
  await ns(e, 'POST', '/servers', { name: 'acme', displayName: 'Acme' });
  const key = async (server: string, roles: string[]) =>
    ((await ns(e, 'POST', `/servers/${server}/apikeys`, { name: roles.join('+'), roles })) as { key: string })
      .key;
  const keys = {
    root: rootApiKey,
    servers: await key('default', ['servers']),
    tenantRoot: await key('default', ['root']),
    users: await key('default', ['users']),
    acme: await key('acme', ['servers']),
  };
  return {
    e,
    keys,
    call: (method, path, apiKey, body, headers = {}) =>
      fetch(`${e.url}/idp/api/v1${path}`, {
        method,
        headers: {
          ...(apiKey !== undefined ? { 'x-apikey': apiKey } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
        ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
      }),
    clientRows: async () =>
      (await e.runtime.dbs.idp?.('idp_oidc_clients').orderBy(['server', 'client_id'])) ?? [],
    async audit(type) {
      const page = (await ns(e, 'GET', `/audit?type=${encodeURIComponent(type)}&limit=1000`)) as {
        events: Awaited<ReturnType<ApiFixture['audit']>>;
      };
      return page.events;
    },
    close: () => e.close(),
  };
}

/** The problem JSON of a refusal, after checking status and media type. */
export async function problem(res: Response, status: number): Promise<Record<string, unknown>> {
  const text = await res.text();
  expect(res.status, text).to.equal(status);
  expect(res.headers.get('content-type')).to.contain('application/problem+json');
  return JSON.parse(text) as Record<string, unknown>;
}
