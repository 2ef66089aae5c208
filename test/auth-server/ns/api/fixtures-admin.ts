// Shared pieces of the management API suites: stored keys with roles, JSON requests, inputs that must fail,
// and a snapshot of everything a refused request must leave unchanged.
import { generateKeyPairSync } from 'node:crypto';
import type { ApiRole } from '../../../../auth-server/ns/apikeys/model.js';
import { createApiKeyRepository } from '../../../../auth-server/ns/apikeys/repository.js';
import { sha256Hex } from '../../../../auth-server/ns/sessions/secrets.js';
import type { Harness } from './harness.js';
import type { ResponseChecker } from './openapi-check.js';

let counter = 0;

/** A stored key of `server` with these roles (written directly, not through the API). */
export async function storedKey(
  h: Harness,
  server: string,
  roles: ApiRole[],
): Promise<{ id: string; secret: string }> {
  counter++;
  const id = `fixture-key-${counter}`;
  const secret = `fixture-secret-${counter}-0123456789abcdef`;
  await createApiKeyRepository(h.knex).save({
    id,
    serverId: (await h.servers.getByName(server)).id,
    name: id,
    keyHash: sha256Hex(secret),
    roles,
    createdAt: new Date(h.clock.now()),
  });
  return { id, secret };
}

export function api(h: Harness) {
  return (
    method: string,
    path: string,
    key: string | undefined,
    body?: unknown,
    headers: Record<string, string> = {},
  ) =>
    fetch(`${h.url}/ns/api/v2/${path}`, {
      method,
      headers: {
        ...(key !== undefined ? { 'x-apikey': key } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
}

/** `api(h)` whose answers are checked against the OpenAPI document at `docPath`; gives status and body. */
export function checkedApi(h: Harness, checker: ResponseChecker) {
  const call = api(h);
  return async (
    method: string,
    path: string,
    docPath: string,
    key: string | undefined,
    body?: unknown,
    headers?: Record<string, string>,
  ) => {
    const res = await call(method, path, key, body, headers);
    return {
      status: res.status,
      body: (await checker.check(res, method, docPath)) as Record<string, unknown>,
    };
  };
}

/** Everything the management API may change. */
export async function managedState(h: Harness): Promise<unknown> {
  return {
    servers: await h
      .knex('ns_virtual_servers')
      .select('id', 'name', 'display_name', 'policy', 'logo', 'allowed_apps', 'updated_at')
      .orderBy('name'),
    keys: await h.knex('ns_api_keys').select('*').orderBy('id'),
    audit: Number((await h.knex('ns_audit_events').count({ n: '*' }))[0]?.n),
    sfs: h.sfsRegistrations.length,
  };
}

/** A fresh P-256 public JWK (what an app publisher would hand out), with the members jose adds. */
export function publisherJwk(): { kty: string; crv: string; x: string; y: string; kid?: string } {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' }) as { kty: string; crv: string; x: string; y: string };
  return { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
}

export const tinyPng = Buffer.from(
  '89504e470d0a1a0a0000000d4948445200000001000000010806000000' +
    '1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082',
  'hex',
);

let accountSeq = 0;

/**
 * An enrolled account written as enrolment writes it (the harness has no SFS to enrol a phone), one
 * millisecond after the previous one; returns its id.
 */
export async function insertAccount(
  h: Harness,
  userid: string,
  server = 'acme',
  extra: Record<string, unknown> = {},
): Promise<string> {
  accountSeq++;
  const id = `acc-${String(accountSeq).padStart(4, '0')}`;
  h.clock.advance(1);
  await h.knex('ns_accounts').insert({
    id,
    server_id: (await h.servers.getByName(server)).id,
    userid,
    public_jwk: JSON.stringify(publisherJwk()),
    key_thumbprint: `thumb-${id}`.padEnd(43, 'x'),
    app_instance_id: `inst-${id}`,
    sfs_issuer: 'http://127.0.0.1:3000/sfs',
    description: 'Pixel 9',
    client_version: '1.2.3',
    created_at: h.clock.now(),
    ...extra,
  });
  return id;
}
