// Every NS REST v2 operation × every caller: no key, a bad key, a key of `acme` with each single role, a key
// of another server with every role, and the configured root key. What each caller must get is read from
// the operation's declared `access` — 401, 403, 404 (another tenant's server reads as unknown) or one of its
// declared success statuses — so a new operation in `nsApiOperations` is covered as soon as it has a fixture
// in operation-fixtures.ts (and fails, saying so, until it has one). A refused call must leave every NS table
// unchanged, and every answer, allowed or refused, must be what the OpenAPI document says for its status.
import { expect } from 'chai';
import type { ApiOperation } from '../../../../auth-server/ns/api/openapi/operation.js';
import { nsApiOperations } from '../../../../auth-server/ns/api/operations/index.js';
import { type ApiRole, apiRoles } from '../../../../auth-server/ns/apikeys/model.js';
import { api, storedKey } from './fixtures-admin.js';
import { type Harness, rootKey, startHarness } from './harness.js';
import { openApiChecker } from './openapi-check.js';
import { type Call, everything, fixtures, urlOf, type World, world } from './operation-fixtures.js';

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

describe('ns REST v2 role matrix (every operation × every caller, from the declared access)', () => {
  let h: Harness;
  let w: World;
  const secrets = new Map<string, string>();
  const checker = openApiChecker();
  let calls = 0;

  before(async () => {
    // Webhook fixtures point at a closed loopback port: allowed for creation, never called here.
    h = await startHarness({ outboundAllow: ['127.0.0.1'] });
    w = world(h);
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
              'test/auth-server/ns/api/operation-fixtures.ts — its path parameters, query and body such that an allowed caller succeeds',
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
          // Allowed or refused, the answer is what the document promises for its status.
          calls++;
          await checker.check(res.clone(), op.method, op.path);
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

  describe('afterwards', () => {
    it('checked every answer against the OpenAPI document', () => {
      expect(calls).to.be.greaterThan(0);
      expect(checker.checked()).to.equal(calls);
    });
  });
});
