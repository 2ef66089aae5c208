// Every NS REST v2 operation with the root key (so nothing but the input can be wrong) and inputs that must
// be refused: bodies over the cap, not JSON, of another media type, with an unknown member or of the wrong
// shape; unknown, repeated and oversized query parameters; oversized path parameters and X-nonce. Each must
// be a 4xx problem JSON the operation declares (and the OpenAPI document describes), and leave every NS table
// as it was. Walks `nsApiOperations`, so a new operation is covered once it has a fixture.
import { expect } from 'chai';
import type { ApiOperation } from '../../../../auth-server/ns/api/openapi/operation.js';
import { nsApiOperations } from '../../../../auth-server/ns/api/operations/index.js';
import { api } from './fixtures-admin.js';
import { type Harness, rootKey, startHarness } from './harness.js';
import { openApiChecker } from './openapi-check.js';
import { type Call, everything, fixtures, urlOf, type World, world } from './operation-fixtures.js';

interface BadInput {
  name: string;
  /** The refusals that fit (e.g. an oversized server name is an unknown server: 404). */
  statuses: readonly number[];
  /** The request: path (below /ns/api/v2/), body as sent, extra headers. */
  build(op: ApiOperation, call: Call): { path: string; body?: string; headers?: Record<string, string> };
}

const json = { 'content-type': 'application/json' };
const long = (n: number) => 'x'.repeat(n);

/** The bad inputs that apply to `op` (with its fixture's `call`). */
function badInputs(op: ApiOperation, call: Call): BadInput[] {
  const inputs: BadInput[] = [];
  const at = (query?: Record<string, string> | URLSearchParams) => {
    const path = urlOf(op, { ...call, query: undefined });
    const q = query ? new URLSearchParams(query).toString() : '';
    return q ? `${path}?${q}` : path;
  };
  const valid = () => (call.query ? new URLSearchParams(call.query) : new URLSearchParams());
  if (op.body) {
    const given = (call.body ?? {}) as Record<string, unknown>;
    inputs.push(
      {
        name: 'a body over 64 KiB',
        statuses: [413],
        build: () => ({
          path: at(call.query),
          body: JSON.stringify({ ...given, pad: long(70_000) }),
          headers: json,
        }),
      },
      {
        name: 'a body that is not JSON',
        statuses: [400],
        build: () => ({ path: at(call.query), body: '{"unterminated', headers: json }),
      },
      {
        name: 'a body of another media type',
        statuses: [415],
        build: () => ({
          path: at(call.query),
          body: JSON.stringify(given),
          headers: { 'content-type': 'text/plain' },
        }),
      },
      {
        name: 'a body with an unknown member',
        statuses: [400],
        build: () => ({
          path: at(call.query),
          body: JSON.stringify({ ...given, unexpected: 1 }),
          headers: json,
        }),
      },
      {
        name: 'a body of the wrong shape (an array)',
        statuses: [400],
        build: () => ({ path: at(call.query), body: JSON.stringify([given]), headers: json }),
      },
    );
  }
  if (op.query) {
    const first = Object.keys(op.query.shape)[0];
    inputs.push({
      name: 'an unknown query parameter',
      statuses: [400],
      build: () => {
        const q = valid();
        q.append('unexpected', '1');
        return { path: at(q) };
      },
    });
    if (first !== undefined) {
      inputs.push(
        {
          name: `a repeated query parameter (${first})`,
          statuses: [400],
          build: () => {
            const q = valid();
            q.append(first, q.get(first) ?? '1');
            if (q.getAll(first).length < 2) q.append(first, '1');
            return { path: at(q) };
          },
        },
        {
          name: `an oversized query parameter (${first}, 5000 characters)`,
          statuses: [400],
          build: () => {
            const q = valid();
            q.set(first, long(5000));
            return { path: at(q) };
          },
        },
      );
    }
  }
  for (const name of Object.keys(call.params ?? {})) {
    inputs.push({
      name: `an oversized path parameter (${name}, 2000 characters)`,
      // An id or name that cannot exist reads as unknown, like any other unknown one.
      statuses: [400, 404],
      build: () => ({
        path: `${urlOf(op, { ...call, params: { ...call.params, [name]: long(2000) } })}`,
        ...(call.body !== undefined ? { body: JSON.stringify(call.body), headers: json } : {}),
      }),
    });
  }
  if (op.nonce) {
    inputs.push({
      name: 'an oversized X-nonce',
      statuses: [400, 401, 404],
      build: () => ({
        path: urlOf(op, call),
        headers: { 'x-nonce': long(5000), ...(call.body !== undefined ? json : {}) },
        ...(call.body !== undefined ? { body: JSON.stringify(call.body) } : {}),
      }),
    });
  }
  return inputs;
}

describe('ns REST v2 bad and oversized inputs (every operation, root key): clear 4xx, nothing changed', () => {
  let h: Harness;
  let w: World;
  const checker = openApiChecker();
  let calls = 0;

  before(async () => {
    h = await startHarness({ outboundAllow: ['127.0.0.1'] });
    w = world(h);
    const alice = await api(h)('PUT', 'servers/acme/users/alice', rootKey, { name: 'Alice' });
    expect(alice.status).to.equal(201);
  });
  after(() => h?.close());

  for (const op of nsApiOperations) {
    if ('public' in op.access) continue;
    const fixture = fixtures[op.operationId];
    // The role matrix fails for a missing fixture; nothing to add here.
    if (!fixture) continue;
    describe(`${op.method.toUpperCase()} ${op.path} (${op.operationId})`, () => {
      // Which inputs apply depends only on the operation's shape; a throwaway call tells the names.
      const shape: Call = {
        ...(op.params && {
          params: Object.fromEntries(Object.keys(op.params.shape).map((k) => [k, 'p'])),
        }),
        ...(op.body && { body: {} }),
      };
      const names = badInputs(op, shape).map((b) => b.name);
      for (const [i] of names.entries()) {
        it(`refuses ${names[i]}`, async () => {
          const call = await fixture(w);
          const bad = badInputs(op, call)[i];
          if (!bad) throw new Error(`no bad input ${i} for ${op.operationId}`);
          const { path, body, headers } = bad.build(op, call);
          const before = await everything(h);
          const res = await fetch(`${h.url}/ns/api/v2/${path}`, {
            method: op.method.toUpperCase(),
            headers: {
              'x-apikey': rootKey,
              ...(call.nonce && op.nonce ? { 'x-nonce': call.nonce } : {}),
              ...headers,
            },
            ...(body !== undefined ? { body } : {}),
          });
          calls++;
          await checker.check(res.clone(), op.method, op.path);
          const text = await res.text();
          const what = `${bad.name} → ${op.method.toUpperCase()} ${op.path}: HTTP ${res.status} ${text.slice(0, 300)}`;
          expect(bad.statuses, what).to.include(res.status);
          expect(op.problems, `${what}; not among the declared problems`).to.include(res.status);
          expect(res.headers.get('content-type') ?? '', what).to.contain('application/problem+json');
          expect(await everything(h), `${what}; stored state changed`).to.deep.equal(before);
        });
      }
    });
  }

  describe('afterwards', () => {
    it('checked every answer against the OpenAPI document', () => {
      expect(calls).to.be.greaterThan(50);
      expect(checker.checked()).to.equal(calls);
    });
  });
});
