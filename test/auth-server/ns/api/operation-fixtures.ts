// Minimal valid input of every NS REST v2 operation (by operationId), shared by the role matrix and the
// bad-input suite: both walk `nsApiOperations`, so a new operation is covered once it has a fixture here.
import { expect } from 'chai';
import type { ApiOperation } from '../../../../auth-server/ns/api/openapi/operation.js';
import { api, insertAccount, storedKey } from './fixtures-admin.js';
import { type Harness, rootKey } from './harness.js';

/** Minimal valid input of one call; built fresh per call, so destructive operations get their own target. */
export interface Call {
  params?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
  /** X-nonce of a session. */
  nonce?: string;
  /**
   * Whether the call acts on `acme`, so that a key of another server must get 404 (as for an unknown server).
   * Default: when it names a server in the path or body, or carries a nonce (sessions belong to a server).
   */
  scoped?: boolean;
}

export interface World {
  h: Harness;
  /** A new name each time (servers, users). */
  fresh(prefix: string): string;
  /** A new `waiting` session of `acme`. */
  nonce(): Promise<string>;
}

export type Fixture = (w: World) => Promise<Call> | Call;

const acme = { server: 'acme' };
const hookUrl = 'http://127.0.0.1:9/hook';

/** A webhook of `acme`, made by the root key; its id. */
async function webhook(w: World): Promise<string> {
  const res = await api(w.h)('POST', 'servers/acme/webhooks', rootKey, { url: hookUrl, events: ['LOGIN'] });
  expect(res.status, 'fixture webhook').to.equal(201);
  return ((await res.json()) as { id: string }).id;
}

/** A new transaction of `alice` in `acme`, made by the root key; its id. */
async function transaction(w: World): Promise<string> {
  const accountid = await insertAccount(w.h, 'alice', 'acme', { push_key_thumbprint: 'k'.repeat(43) });
  const res = await api(w.h)('POST', 'transactions', rootKey, {
    server: 'acme',
    accountid,
    amount: '1.00',
    beneficiary: 'Shop',
    description: 'Fixture',
  });
  expect(res.status, 'fixture transaction').to.equal(201);
  return ((await res.json()) as { tid: string }).tid;
}

/** As `transaction`, marked approved with a receipt of the right shape (its signatures are not checked here). */
async function approvedTransaction(w: World): Promise<string> {
  const tid = await transaction(w);
  const jwk = { kty: 'EC', crv: 'P-256', x: 'x'.repeat(43), y: 'y'.repeat(43) };
  const row = await w.h.knex('ns_transactions').where({ id: tid }).first();
  const now = new Date().toISOString();
  const receipt = {
    typ: 'nextauth-transaction-receipt',
    v: 1,
    transaction: {
      tid,
      server: 'http://127.0.0.1:3000/ns/acme',
      serverName: 'acme',
      type: 'payment',
      userid: 'alice',
      account: 'a',
      createdAt: now,
      expiresAt: now,
      approvedAt: now,
      authorizationDetails: null,
    },
    signedData: JSON.parse(row.signed_data),
    template: { id: 'payment:en', text: row.template, sha256: 'h'.repeat(43) },
    rendered: { text: 'text', sha256: 'h'.repeat(43) },
    accountKey: jwk,
    signature: 's'.repeat(86),
    attestation: { jws: 'a.b.c', sfsKey: jwk, transcriptHash: 't'.repeat(43), method: 'pin' },
    ns: { key: jwk, countersignedAt: now },
    countersignature: 'c'.repeat(86),
  };
  await w.h
    .knex('ns_transactions')
    .where({ id: tid })
    .update({ used_at: Date.now(), status: 'approved', answered_by: 'a', receipt: JSON.stringify(receipt) });
  return tid;
}

/**
 * One entry per operationId. A new operation needs one: its path parameters, query and body such that
 * a caller allowed to call it gets a success status (against the harness: servers `acme` and `other`, the
 * user `alice` in `acme`).
 */
export const fixtures: Record<string, Fixture> = {
  // sessions
  createSession: () => ({ body: acme }),
  getSession: async (w) => ({ nonce: await w.nonce() }),
  logout: async (w) => ({ nonce: await w.nonce() }),
  getQrLogin: async (w) => ({ nonce: await w.nonce() }),
  getQrLoginPng: async (w) => ({ nonce: await w.nonce() }),
  // A fresh account with a push key each time: the per-account push limits never bite here.
  provokeLogin: async (w) => ({
    nonce: await w.nonce(),
    body: {
      accountid: await insertAccount(w.h, 'alice', 'acme', { push_key_thumbprint: 'k'.repeat(43) }),
    },
  }),
  // transactions: a fresh account with a push key each time, as for provokeLogin
  createTransaction: async (w) => ({
    body: {
      server: 'acme',
      accountid: await insertAccount(w.h, 'alice', 'acme', { push_key_thumbprint: 'k'.repeat(43) }),
      amount: '12.50',
      beneficiary: 'Shop',
      description: 'Order 1',
    },
    scoped: true,
  }),
  getTransaction: async (w) => ({ params: { tid: await transaction(w) }, scoped: true }),
  getTransactionQr: async (w) => ({ params: { tid: await transaction(w) }, scoped: true }),
  getTransactionQrPng: async (w) => ({ params: { tid: await transaction(w) }, scoped: true }),
  getTransactionReceipt: async (w) => ({ params: { tid: await approvedTransaction(w) }, scoped: true }),
  listTransactionTypes: () => ({ params: acme }),
  putTransactionType: () => ({
    params: { ...acme, type: 'sepa' },
    body: { templates: { en: 'Transfer {amount} to {iban}' } },
  }),
  deleteTransactionType: async (w) => {
    await api(w.h)('PUT', 'servers/acme/transaction-types/doomed', rootKey, { templates: { en: 'x {a}' } });
    return { params: { ...acme, type: 'doomed' } };
  },
  // enrol links
  createEnrolLink: () => ({ body: { server: 'acme', userid: 'alice' } }),
  // servers and API keys
  listServers: () => ({}),
  createServer: (w) => ({ body: { name: w.fresh('made'), displayName: 'Made' } }),
  getServer: () => ({ params: acme }),
  updateServer: () => ({ params: acme, body: { displayName: 'ACME' } }),
  deleteServer: async (w) => {
    const name = w.fresh('doomed');
    await w.h.servers.create({ name, displayName: 'Doomed' });
    return { params: { server: name }, scoped: true };
  },
  listApiKeys: () => ({ params: acme }),
  // Only roles every allowed caller holds itself (a key cannot hand out or revoke more than it has).
  createApiKey: () => ({ params: acme, body: { name: 'matrix', roles: ['servers'] } }),
  revokeApiKey: async (w) => ({ params: { ...acme, id: (await storedKey(w.h, 'acme', ['servers'])).id } }),
  // users
  listUsers: () => ({ params: acme, query: { limit: '10' } }),
  getUser: () => ({ params: { ...acme, userid: 'alice' } }),
  replaceUser: () => ({ params: { ...acme, userid: 'alice' }, body: { name: 'Alice' } }),
  updateUser: () => ({ params: { ...acme, userid: 'alice' }, body: { email: 'alice@example.com' } }),
  deleteUser: async (w) => {
    const userid = w.fresh('leaving');
    const res = await api(w.h)('PUT', `servers/acme/users/${userid}`, rootKey, {});
    expect(res.status, 'fixture user').to.equal(201);
    return { params: { ...acme, userid } };
  },
  // accounts
  listAccounts: () => ({ params: acme, query: { userid: 'alice' } }),
  getAccount: async (w) => ({ params: { ...acme, account: await insertAccount(w.h, 'alice') } }),
  updateAccount: async (w) => ({
    params: { ...acme, account: await insertAccount(w.h, 'alice') },
    body: { description: 'Work phone' },
  }),
  deleteAccount: async (w) => ({ params: { ...acme, account: await insertAccount(w.h, 'alice') } }),
  blockAccount: async (w) => ({ params: { ...acme, account: await insertAccount(w.h, 'alice') } }),
  unblockAccount: async (w) => ({
    params: { ...acme, account: await insertAccount(w.h, 'alice', 'acme', { blocked_at: w.h.clock.now() }) },
  }),
  deleteUserAccounts: async (w) => {
    await insertAccount(w.h, 'alice');
    return { params: { ...acme, userid: 'alice' } };
  },
  // webhooks
  listWebhooks: () => ({ params: acme }),
  createWebhook: () => ({ params: acme, body: { url: hookUrl, events: ['LOGIN'] } }),
  deleteWebhook: async (w) => ({ params: { ...acme, id: await webhook(w) } }),
  listWebhookDeliveries: async (w) => ({ params: { ...acme, id: await webhook(w) } }),
  // audit: a server key reads its own server's events (no `server`: unscoped, allowed for every server)
  queryAuditLog: () => ({ query: { limit: '5' } }),
  exportAuditLog: () => ({ query: { type: 'server.*' } }),
  // meta
  getOpenApiDocument: () => ({}),
};

/** Every row of every NS table: a refused call must change none of them. */
export async function everything(h: Harness): Promise<Record<string, unknown[]>> {
  const tables = (await h
    .knex('sqlite_master')
    .where({ type: 'table' })
    .orderBy('name')
    .pluck('name')) as string[];
  const state: Record<string, unknown[]> = {};
  for (const t of tables.filter((name) => name.startsWith('ns_'))) {
    state[t] = await h.knex(t).select('*').orderByRaw('rowid');
  }
  return state;
}

export function urlOf(op: ApiOperation, call: Call): string {
  const path = op.path.replace(/\{([A-Za-z0-9_]+)\}/g, (_, name: string) => {
    const value = call.params?.[name];
    if (value === undefined) throw new Error(`fixture of ${op.operationId} lacks the path parameter ${name}`);
    return encodeURIComponent(value);
  });
  const query = call.query ? `?${new URLSearchParams(call.query)}` : '';
  // `api()` prefixes /ns/api/v2/.
  return `${path.replace(/^\/api\/v2\//, '')}${query}`;
}

/** The fixtures' world on `h`: fresh names and new `waiting` sessions of `acme`. */
export function world(h: Harness): World {
  let n = 0;
  return {
    h,
    fresh: (prefix) => `${prefix}-${++n}`,
    nonce: async () =>
      (await h.sessions.createSession({ server: 'acme', userAgent: 'fixture', ip: '127.0.0.1' })).nonce,
  };
}
