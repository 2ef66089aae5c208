import { expect } from 'chai';
import { createHttpApp } from '../../../../auth-server/common/http/app.js';
import { createLogger } from '../../../../auth-server/common/logging.js';
import type { McPeer, NsPeer } from '../../../../auth-server/common/peers.js';
import { createPeerClient } from '../../../../auth-server/common/peers-http/client.js';
import { PeerError } from '../../../../auth-server/common/peers-http/errors.js';
import { peerRouter, serviceKeyMatches } from '../../../../auth-server/common/peers-http/server.js';
import { mcPeerTable, nsPeerTable } from '../../../../auth-server/common/peers-http/tables.js';
import { freePort, serve } from '../../../helpers/http.js';

const logger = createLogger({ level: 'silent', format: 'json' });
const serviceKey = 'k'.repeat(32);
/** The key being rotated in: the NS router below accepts it as well, the MC router does not. */
const nextKey = 'n'.repeat(32);
const key = { x: 'a'.repeat(43), y: 'b'.repeat(43) };

class FakeMcError extends Error {
  constructor(readonly code: string) {
    super(`refused: ${code}`);
  }
}

describe('peers over HTTP', () => {
  const calls: unknown[][] = [];
  let postImpl: McPeer['post'];
  let url: string;
  let close: () => Promise<void>;
  let badResult = false;

  const mc: McPeer = {
    async recipient(ref) {
      calls.push(['recipient', ref]);
      if (badResult) return { instanceId: 'i1', encryptionKey: { kty: 'RSA' } } as never;
      return 'instanceId' in ref && ref.instanceId === 'i1'
        ? { instanceId: 'i1', encryptionKey: { kty: 'EC', crv: 'P-256', ...key } }
        : undefined;
    },
    post: (input) => postImpl(input),
  };
  const ns = {
    async authenticateApiKey(presented: string | undefined, server: string) {
      calls.push(['authenticateApiKey', presented, server]);
      return presented === undefined ? undefined : { keyId: 'root', roles: ['root'], mayActOnServer: true };
    },
  } as unknown as NsPeer;

  before(async () => {
    const app = createHttpApp({ logger });
    const mcRouter = peerRouter({
      service: 'mc',
      table: mcPeerTable,
      implementation: mc,
      acceptedKeys: [serviceKey],
      logger,
    });
    const nsRouter = peerRouter({
      service: 'ns',
      table: nsPeerTable,
      implementation: ns,
      acceptedKeys: [serviceKey, nextKey],
      logger,
    });
    app.use(mcRouter.routes()).use(nsRouter.routes());
    const listener = await serve(app);
    url = listener.url;
    close = () => listener.close(0);
  });
  after(() => close());
  beforeEach(() => {
    calls.length = 0;
    badResult = false;
    postImpl = async () => ({ id: 'm1', expiresAt: 1234 });
  });

  const mcClient = (k = serviceKey) =>
    createPeerClient({ service: 'mc', table: mcPeerTable, baseUrl: url, serviceKey: k });
  const raw = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-nextauth-service-key': serviceKey, ...headers },
      body,
    });

  it('calls the implementation and returns its validated result', async () => {
    const client = mcClient();
    expect(await client.post({ instanceId: 'i1', sealed: 'abc' })).to.deep.equal({
      id: 'm1',
      expiresAt: 1234,
    });
    expect(await client.recipient({ instanceId: 'i1' })).to.deep.equal({
      instanceId: 'i1',
      encryptionKey: { kty: 'EC', crv: 'P-256', ...key },
    });
    expect(await client.recipient({ instanceId: 'other' })).to.equal(undefined);
  });

  it('carries an undefined argument as undefined', async () => {
    const client = createPeerClient({ service: 'ns', table: nsPeerTable, baseUrl: url, serviceKey });
    expect(await client.authenticateApiKey(undefined, 'default')).to.equal(undefined);
    expect(calls).to.deep.equal([['authenticateApiKey', undefined, 'default']]);
  });

  it('re-throws a domain error with the same code', async () => {
    postImpl = async () => {
      throw new FakeMcError('mailbox_full');
    };
    const err = await mcClient()
      .post({ instanceId: 'i1', sealed: 'abc' })
      .catch((e: unknown) => e);
    expect(err).to.be.instanceOf(PeerError);
    expect(err).to.include({ code: 'mailbox_full', status: 422 });
    expect((err as Error).message).to.contain('refused: mailbox_full');
  });

  it('hides an unexpected error behind `internal`', async () => {
    postImpl = async () => {
      throw new Error('connection string postgres://secret');
    };
    const err = (await mcClient()
      .post({ instanceId: 'i1', sealed: 'abc' })
      .catch((e: unknown) => e)) as PeerError;
    expect(err).to.include({ code: 'internal', status: 500 });
    expect(err.message).not.to.contain('secret');
  });

  it('refuses a result that does not match the schema', async () => {
    badResult = true;
    const err = await mcClient()
      .recipient({ instanceId: 'i1' })
      .catch((e: unknown) => e);
    expect(err).to.include({ code: 'internal', status: 500 });
  });

  for (const [label, headers] of [
    ['a missing', { 'x-nextauth-service-key': '' }],
    ['a wrong', { 'x-nextauth-service-key': 'w'.repeat(32) }],
  ] as const) {
    it(`refuses ${label} service key with 401 before anything else`, async () => {
      const res = await raw('/mc/internal/v1/post', '{not json', headers);
      expect(res.status).to.equal(401);
      expect(res.headers.get('content-type')).to.contain('application/problem+json');
      expect(await res.json()).to.include({ code: 'unauthorized' });
      const unknown = await raw('/mc/internal/v1/nope', '[]', headers);
      expect(unknown.status).to.equal(401);
      expect(calls).to.deep.equal([]);
    });
  }

  it('a client with a wrong key gets `unauthorized`', async () => {
    const err = await mcClient('w'.repeat(32))
      .post({ instanceId: 'i1', sealed: 'abc' })
      .catch((e: unknown) => e);
    expect(err).to.include({ code: 'unauthorized', status: 401 });
  });

  it('refuses arguments that do not match the schema, without calling the implementation', async () => {
    for (const body of [
      '[]',
      '[{"instanceId":"i1"}]',
      '[{"instanceId":"i1","sealed":"x","extra":1}]',
      '{}',
    ]) {
      const res = await raw('/mc/internal/v1/post', body);
      expect(res.status, body).to.equal(400);
      expect(await res.json()).to.include({ code: 'invalid_body' });
    }
    const notJson = await raw('/mc/internal/v1/post', '[');
    expect(notJson.status).to.equal(400);
    const wrongType = await raw('/mc/internal/v1/post', '[]', { 'content-type': 'text/plain' });
    expect(wrongType.status).to.equal(415);
    expect(calls).to.deep.equal([]);
  });

  it('caps the body size', async () => {
    const res = await raw(
      '/mc/internal/v1/post',
      JSON.stringify([{ instanceId: 'i1', sealed: 'x'.repeat(70_000) }]),
    );
    expect(res.status).to.equal(413);
    expect(await res.json()).to.include({ code: 'body_too_large' });
  });

  it('answers 404 for a method the table lacks, including inherited names', async () => {
    for (const method of ['nope', 'constructor', 'toString']) {
      const res = await raw(`/mc/internal/v1/${method}`, '[]');
      expect(res.status, method).to.equal(404);
    }
  });

  it('reports an unreachable peer as `unavailable`', async () => {
    const port = await freePort();
    const client = createPeerClient({
      service: 'mc',
      table: mcPeerTable,
      baseUrl: `http://127.0.0.1:${port}`,
      serviceKey,
    });
    const err = await client.post({ instanceId: 'i1', sealed: 'abc' }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(PeerError);
    expect(err).to.include({ code: 'unavailable' });
    expect((err as PeerError).status).to.equal(undefined);
  });

  it('compares service keys without short-circuiting on length, against every accepted key', () => {
    expect(serviceKeyMatches([serviceKey], serviceKey)).to.equal(true);
    expect(serviceKeyMatches([serviceKey], `${serviceKey}x`)).to.equal(false);
    expect(serviceKeyMatches([serviceKey], '')).to.equal(false);
    expect(serviceKeyMatches([serviceKey], undefined)).to.equal(false);
    expect(serviceKeyMatches([serviceKey, nextKey], nextKey)).to.equal(true);
    expect(serviceKeyMatches([serviceKey, nextKey], serviceKey)).to.equal(true);
    expect(serviceKeyMatches([], serviceKey)).to.equal(false);
  });

  it('during a rotation both keys get through where both are accepted, and only there', async () => {
    const nsWith = (k: string) =>
      createPeerClient({ service: 'ns', table: nsPeerTable, baseUrl: url, serviceKey: k });
    for (const k of [serviceKey, nextKey])
      expect(await nsWith(k).authenticateApiKey('some-key', 'default')).to.deep.include({ keyId: 'root' });
    let posted = false;
    postImpl = async () => {
      posted = true;
      return { id: 'm1', expiresAt: 1 };
    };
    const refused = await mcClient(nextKey)
      .post({ instanceId: 'i1', sealed: 'abc' })
      .catch((e: unknown) => e);
    expect(refused).to.be.instanceOf(PeerError);
    expect((refused as PeerError).status).to.equal(401);
    expect(posted).to.equal(false);
    const wrong = await nsWith('w'.repeat(32))
      .authenticateApiKey('some-key', 'default')
      .catch((e: unknown) => e);
    expect((wrong as PeerError).status).to.equal(401);
  });
});
