// Every NS REST v2 operation × every caller: no key, a bad key, a key of `acme` with each single role, a key
// of another server with every role, and the configured root key. What each caller must get is read from
// the operation's declared `access` — 401, 403, 404 (another tenant's server reads as unknown) or one of its
// declared success statuses — so a new operation in `nsApiOperations` is covered as soon as it has a fixture
// below (and fails, saying so, until it has one). A refused call must leave every NS table unchanged.
import { expect } from 'chai';
import type { ApiOperation } from '../../../../auth-server/ns/api/openapi/operation.js';
import { nsApiOperations } from '../../../../auth-server/ns/api/operations/index.js';
import { type ApiRole, apiRoles } from '../../../../auth-server/ns/apikeys/model.js';
import { api, insertAccount, storedKey } from './fixtures-admin.js';
import { type Harness, rootKey, startHarness } from './harness.js';

/** Minimal valid input of one call; built fresh per call, so destructive operations get their own target. */
interface Call {
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

interface World {
  h: Harness;
  /** A new name each time (servers, users). */
  fresh(prefix: string): string;
  /** A new `waiting` session of `acme`. */
  nonce(): Promise<string>;
}

type Fixture = (w: World) => Promise<Call> | Call;

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
const fixtures: Record<string, Fixture> = {
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

type Caller =
  | { name: string; kind: 'none' }
  | { name: string; kind: 'bad' }
  | { name: string; kind: 'root' }
  | { name: string; kind: 'stored'; roles: ApiRole[]; server: 'acme' | 'other' };

const callers: readonly Caller[] = [
  { name: 'no X-apikey', kind: 'none' },
  { name: 'an unknown X-apikey', kind: 'bad' },
  ...apiRoles.map(
    (role): Caller => ({ name: `acme key [${role}]`, kind: 'stored', roles: [role], server: 'acme' }),
  ),
  { name: 'key of another server [root]', kind: 'stored', roles: ['root'], server: 'other' },
  { name: 'the root API key', kind: 'root' },
];

type Expected = { status: 401 | 403 | 404 } | { status: 'success' };

/** What `caller` must get from `op` with input `call`, by the operation's declared access. */
function expected(op: ApiOperation, caller: Caller, call: Call): Expected {
  const { access } = op;
  if ('public' in access) return { status: 'success' };
  if (caller.kind === 'none' || caller.kind === 'bad') return { status: 401 };
  if (caller.kind === 'root') return { status: 'success' };
  // A stored key is never the configured root key, whatever roles it holds.
  if ('rootKey' in access) return { status: 403 };
  const holds = caller.roles.includes('root') || access.roles.some((r) => caller.roles.includes(r));
  if (!holds) return { status: 403 };
  const body = call.body as { server?: unknown } | undefined;
  const scoped =
    call.scoped ?? (call.params?.server !== undefined || body?.server !== undefined || !!call.nonce);
  if (caller.server !== 'acme' && scoped) return { status: 404 };
  return { status: 'success' };
}

/** Every row of every NS table: a refused call must change none of them. */
async function everything(h: Harness): Promise<Record<string, unknown[]>> {
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

function urlOf(op: ApiOperation, call: Call): string {
  const path = op.path.replace(/\{([A-Za-z0-9_]+)\}/g, (_, name: string) => {
    const value = call.params?.[name];
    if (value === undefined) throw new Error(`fixture of ${op.operationId} lacks the path parameter ${name}`);
    return encodeURIComponent(value);
  });
  const query = call.query ? `?${new URLSearchParams(call.query)}` : '';
  // `api()` prefixes /ns/api/v2/.
  return `${path.replace(/^\/api\/v2\//, '')}${query}`;
}

describe('ns REST v2 role matrix (every operation × every caller, from the declared access)', () => {
  let h: Harness;
  let w: World;
  const secrets = new Map<string, string>();
  let n = 0;

  before(async () => {
    // Webhook fixtures point at a closed loopback port: allowed for creation, never called here.
    h = await startHarness({ outboundAllow: ['127.0.0.1'] });
    w = {
      h,
      fresh: (prefix) => `${prefix}-${++n}`,
      nonce: async () =>
        (await h.sessions.createSession({ server: 'acme', userAgent: 'matrix', ip: '127.0.0.1' })).nonce,
    };
    for (const caller of callers) {
      if (caller.kind === 'stored')
        secrets.set(caller.name, (await storedKey(h, caller.server, caller.roles)).secret);
    }
    const alice = await api(h)('PUT', 'servers/acme/users/alice', rootKey, { name: 'Alice' });
    expect(alice.status).to.equal(201);
  });
  after(() => h?.close());

  const keyOf = (caller: Caller): string | undefined => {
    if (caller.kind === 'none') return undefined;
    if (caller.kind === 'bad') return 'nak_this-key-was-never-issued-0123456789';
    if (caller.kind === 'root') return rootKey;
    return secrets.get(caller.name);
  };

  it('has no fixture for an operation that no longer exists', () => {
    const ids = new Set(nsApiOperations.map((op) => op.operationId));
    const stale = Object.keys(fixtures).filter((id) => !ids.has(id));
    expect(stale, `fixtures for operations that no longer exist: ${stale.join(', ')}`).to.deep.equal([]);
  });

  for (const op of nsApiOperations) {
    describe(`${op.method.toUpperCase()} ${op.path} (${op.operationId}, access ${JSON.stringify(op.access)})`, () => {
      const fixture = fixtures[op.operationId];
      if (!fixture) {
        it('has a fixture', () => {
          expect.fail(
            `no fixture for ${op.operationId} (${op.method.toUpperCase()} ${op.path}): add one to \`fixtures\` in ` +
              'test/auth-server/ns/api/role-matrix.test.ts — its path parameters, query and body such that an allowed caller succeeds',
          );
        });
        return;
      }
      for (const caller of callers) {
        it(caller.name, async () => {
          const call = await fixture(w);
          const want = expected(op, caller, call);
          const before = want.status === 'success' ? undefined : await everything(h);
          const res = await api(h)(
            op.method.toUpperCase(),
            urlOf(op, call),
            keyOf(caller),
            call.body,
            call.nonce ? { 'x-nonce': call.nonce } : {},
          );
          const text = await res.text();
          const what = `${caller.name} → ${op.method.toUpperCase()} ${op.path}: HTTP ${res.status} ${text.slice(0, 300)}`;
          if (want.status === 'success') {
            const declared = Object.keys(op.responses).map(Number);
            expect(declared, `${what}; expected one of the declared ${declared.join(', ')}`).to.include(
              res.status,
            );
            return;
          }
          expect(res.status, `${what}; expected ${want.status}`).to.equal(want.status);
          expect(op.problems, `${what}; ${want.status} is not among the declared problems`).to.include(
            want.status,
          );
          expect(res.headers.get('content-type') ?? '', what).to.contain('application/problem+json');
          expect(await everything(h), `${what}; stored state changed`).to.deep.equal(before);
        });
      }
    });
  }
});
