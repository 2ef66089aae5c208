// Webhooks over REST v2 with a local receiver: create (secret once, sealed at rest), list, delete, refused
// URLs (400, nothing stored), roles and scoping; delivery of a real logout as a signed CloudEvent checked
// with the documented Standard Webhooks scheme; a 500 then a 200 (one retry, one success); giving up after
// the last attempt; two dispatchers racing send each delivery once; a rolled-back event queues nothing.
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import type { Resolver } from '../../../../auth-server/common/http/outbound.js';
import { verifyWebhook } from '../../../../auth-server/ns/webhooks/signature.js';
import { api, checkedApi, storedKey } from './fixtures-admin.js';
import { type Harness, rootKey, startHarness } from './harness.js';
import { openApiChecker } from './openapi-check.js';

const checker = openApiChecker();
const hooksPath = '/api/v2/servers/{server}/webhooks';
const hookPath = '/api/v2/servers/{server}/webhooks/{id}';
const deliveriesPath = '/api/v2/servers/{server}/webhooks/{id}/deliveries';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A local receiver answering with the queued statuses (200 once they run out). */
async function receiver() {
  const received: Received[] = [];
  const statuses: number[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(statuses.shift() ?? 200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    statuses,
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

const resolve: Resolver = async (host) => {
  if (host === 'hooks.example.test') return [{ address: '93.184.215.14', family: 4 }];
  if (host === 'internal.example.test') return [{ address: '10.0.0.5', family: 4 }];
  throw new Error('ENOTFOUND');
};

describe('ns REST v2 webhooks', () => {
  let h: Harness;
  let call: ReturnType<typeof api>;
  let send: ReturnType<typeof checkedApi>;
  let rx: Awaited<ReturnType<typeof receiver>>;

  beforeEach(async () => {
    h = await startHarness({ outboundAllow: ['127.0.0.1'], resolve });
    call = api(h);
    send = checkedApi(h, checker);
    rx = await receiver();
  });
  afterEach(async () => {
    await rx.close();
    await h.close();
  });

  const create = (server: string, body: unknown, key = rootKey) =>
    send('POST', `servers/${server}/webhooks`, hooksPath, key, body);
  const list = (server: string, key = rootKey) => send('GET', `servers/${server}/webhooks`, hooksPath, key);
  const deliveries = (server: string, id: string, query = '') =>
    send('GET', `servers/${server}/webhooks/${id}/deliveries${query}`, deliveriesPath, rootKey);

  /** A browser session on acme that the integrator logs out over REST: a LOGOUT event. */
  const logout = async () => {
    const { nonce, session } = await h.sessions.createSession({
      server: 'acme',
      userAgent: 'Firefox',
      ip: '192.0.2.1',
    });
    const res = await call('POST', 'logout', rootKey, undefined, { 'x-nonce': nonce });
    expect(res.status).to.equal(200);
    return { nonce, sessionId: session.id };
  };

  const stored = async () => ({
    webhooks: await h.knex('ns_webhooks').select('*').orderBy('id'),
    deliveries: Number((await h.knex('ns_webhook_deliveries').count({ n: '*' }))[0]?.n),
    audit: Number(
      (await h.knex('ns_audit_events').where('type', 'like', 'webhook.%').count({ n: '*' }))[0]?.n,
    ),
  });

  it('creates a webhook: the secret once, sealed at rest; lists it without; deletes it', async () => {
    const { status, body } = await create('acme', { url: rx.url, events: ['LOGIN', 'LOGOUT', 'LOGIN'] });
    expect(status).to.equal(201);
    expect(body).to.deep.include({
      server: 'acme',
      url: rx.url,
      events: ['LOGIN', 'LOGOUT'],
      createdBy: 'root',
    });
    const secret = String(body.secret);
    expect(secret).to.match(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const row = await h.knex('ns_webhooks').where({ id: body.id }).first();
    expect(row.secret_sealed).to.match(/^sb1\./);
    expect(JSON.stringify(row)).to.not.include(secret.slice(6));
    const listed = await list('acme');
    expect(listed.status).to.equal(200);
    expect(listed.body.webhooks).to.have.length(1);
    expect(JSON.stringify(listed.body)).to.not.include('secret');
    expect((await list('other')).body.webhooks).to.deep.equal([]);
    const audit = await h.audit.query({ types: ['webhook.created'] });
    expect(audit.events[0]?.details).to.deep.equal({ url: rx.url, events: ['LOGIN', 'LOGOUT'] });
    expect(JSON.stringify(audit.events)).to.not.include(secret.slice(6));

    expect((await send('DELETE', `servers/acme/webhooks/${body.id}`, hookPath, rootKey)).status).to.equal(
      204,
    );
    expect((await list('acme')).body.webhooks).to.deep.equal([]);
    expect((await send('DELETE', `servers/acme/webhooks/${body.id}`, hookPath, rootKey)).status).to.equal(
      404,
    );
    expect((await h.audit.query({ types: ['webhook.deleted'] })).events).to.have.length(1);
  });

  it('refuses URLs that are not allowed with 400 and stores nothing', async () => {
    const before = await stored();
    for (const url of [
      'http://hooks.example.test/hook', // public but not https
      'https://internal.example.test/hook', // resolves to a private address
      'https://169.254.169.254/latest/meta-data', // link-local (cloud metadata)
      'https://[::1]/hook', // loopback, not allow-listed as IPv6
      'https://nowhere.example.test/hook', // does not resolve
      'https://user:pass@hooks.example.test/hook', // credentials in the URL
      'ftp://hooks.example.test/hook',
      'not a url',
    ]) {
      const { status, body } = await create('acme', { url, events: ['LOGIN'] });
      expect(status, url).to.equal(400);
      expect(body.code, url).to.equal('bad_request');
    }
    for (const bad of [
      { url: rx.url, events: [] },
      { url: rx.url, events: ['CONFIRMSCAN'] },
      { url: rx.url },
      { url: rx.url, events: ['LOGIN'], extra: 1 },
      { url: `https://hooks.example.test/${'a'.repeat(2100)}`, events: ['LOGIN'] },
    ]) {
      expect((await create('acme', bad)).status, JSON.stringify(bad).slice(0, 60)).to.equal(400);
    }
    expect(await stored()).to.deep.equal(before);
    // A public https URL is fine.
    expect(
      (await create('acme', { url: 'https://hooks.example.test/hook', events: ['LOGIN'] })).status,
    ).to.equal(201);
  });

  it('needs the servers role and the server in scope', async () => {
    const sessionsKey = await storedKey(h, 'acme', ['sessions']);
    const otherKey = await storedKey(h, 'other', ['servers']);
    const acmeKey = await storedKey(h, 'acme', ['servers']);
    const before = await stored();
    expect((await create('acme', { url: rx.url, events: ['LOGIN'] }, sessionsKey.secret)).status).to.equal(
      403,
    );
    expect((await create('acme', { url: rx.url, events: ['LOGIN'] }, otherKey.secret)).status).to.equal(404);
    expect((await create('acme', { url: rx.url, events: ['LOGIN'] }, 'nak_nonsense')).status).to.equal(401);
    expect((await list('acme', otherKey.secret)).status).to.equal(404);
    expect(await stored()).to.deep.equal(before);
    const { status, body } = await create('acme', { url: rx.url, events: ['LOGIN'] }, acmeKey.secret);
    expect(status).to.equal(201);
    expect(body.createdBy).to.equal(acmeKey.id);
    expect(
      (await send('DELETE', `servers/acme/webhooks/${body.id}`, hookPath, otherKey.secret)).status,
    ).to.equal(404);
    expect((await list('acme')).body.webhooks).to.have.length(1);
  });

  it('delivers a logout as a signed CloudEvent; a 500 is retried once and then succeeds', async () => {
    const { body: hook } = await create('acme', { url: rx.url, events: ['LOGOUT'] });
    const secret = String(hook.secret);
    const dispatcher = h.dispatcher({ retry: { baseDelayMs: 1000, maxDelayMs: 1000 } });
    rx.statuses.push(500);
    const { nonce, sessionId } = await logout();

    expect(await dispatcher.runOnce()).to.equal(1);
    let listed = (await deliveries('acme', String(hook.id))).body.deliveries as Record<string, unknown>[];
    expect(listed).to.have.length(1);
    expect(listed[0]).to.deep.include({
      state: 'pending',
      attempts: 1,
      lastStatus: 500,
      lastError: 'HTTP 500',
    });
    // Not due yet: nothing is sent.
    expect(await dispatcher.runOnce()).to.equal(0);
    h.clock.advance(1000);
    expect(await dispatcher.runOnce()).to.equal(1);
    listed = (await deliveries('acme', String(hook.id))).body.deliveries as Record<string, unknown>[];
    expect(listed[0]).to.deep.include({ state: 'delivered', attempts: 2, lastStatus: 200, lastError: null });
    expect(await dispatcher.runOnce()).to.equal(0);

    expect(rx.received).to.have.length(2);
    const [first, second] = rx.received as [Received, Received];
    expect(second.headers['webhook-id']).to.equal(first.headers['webhook-id']);
    expect(second.body).to.equal(first.body);
    for (const { headers, body } of rx.received) {
      expect(headers['content-type']).to.equal('application/cloudevents+json');
      const id = String(headers['webhook-id']);
      const timestamp = String(headers['webhook-timestamp']);
      // The documented scheme, computed here from scratch: HMAC-SHA256(base64-decoded secret, id.ts.body).
      const mac = createHmac('sha256', Buffer.from(secret.slice('whsec_'.length), 'base64'))
        .update(`${id}.${timestamp}.${body}`)
        .digest('base64');
      expect(headers['webhook-signature']).to.equal(`v1,${mac}`);
      expect(
        verifyWebhook(secret, headers as never, body, { nowSeconds: Math.floor(h.clock.now() / 1000) }),
      ).to.equal(true);
      expect(verifyWebhook(secret, headers as never, `${body} `, { nowSeconds: Number(timestamp) })).to.equal(
        false,
      );
      expect(body).to.not.include(nonce);
    }
    expect(Number(second.headers['webhook-timestamp']) - Number(first.headers['webhook-timestamp'])).to.equal(
      1,
    );
    const event = JSON.parse(first.body);
    expect(event).to.deep.include({
      specversion: '1.0',
      id: first.headers['webhook-id'],
      source: 'http://127.0.0.1:3000/ns/acme',
      type: 'dev.nextauth.ns.logout',
      datacontenttype: 'application/json',
    });
    expect(event.data).to.deep.include({ type: 'LOGOUT', server: 'acme', session: sessionId, userid: null });
    // The CloudEvent id is the audit event's id: one id to correlate both.
    const [audited] = (await h.audit.query({ types: ['session.logout'] })).events;
    expect(event.id).to.equal(audited?.id);
  });

  it('gives up after the last attempt and marks the delivery failed', async () => {
    const { body: hook } = await create('acme', { url: rx.url, events: ['LOGOUT'] });
    const dispatcher = h.dispatcher({ retry: { maxAttempts: 3, baseDelayMs: 1000, maxDelayMs: 4000 } });
    rx.statuses.push(500, 503, 500, 200);
    await logout();
    for (let i = 0; i < 3; i++) {
      expect(await dispatcher.runOnce(), `attempt ${i + 1}`).to.equal(1);
      h.clock.advance(4000);
    }
    expect(await dispatcher.runOnce()).to.equal(0);
    const listed = (await deliveries('acme', String(hook.id), '?state=failed')).body.deliveries as Record<
      string,
      unknown
    >[];
    expect(listed).to.have.length(1);
    expect(listed[0]).to.deep.include({ state: 'failed', attempts: 3, lastStatus: 500, nextAttemptAt: null });
    expect(rx.received).to.have.length(3);
    expect((await deliveries('acme', String(hook.id), '?state=pending')).body.deliveries).to.deep.equal([]);
    expect((await deliveries('acme', String(hook.id), '?state=bogus')).status).to.equal(400);
    expect((await deliveries('acme', '0'.repeat(32))).status).to.equal(404);
  });

  it('two dispatchers racing send each delivery exactly once', async () => {
    await create('acme', { url: rx.url, events: ['LOGOUT'] });
    await create('acme', { url: `${rx.url}?second`, events: ['LOGOUT'] });
    for (let i = 0; i < 5; i++) await logout();
    const one = h.dispatcher({ batchSize: 100 });
    const two = h.dispatcher({ batchSize: 100 });
    const [a, b] = await Promise.all([one.runOnce(), two.runOnce()]);
    expect(a + b).to.equal(10);
    expect(rx.received).to.have.length(10);
    const sent = rx.received.map((r) => `${r.headers['webhook-id']}`);
    // Five events, each to two webhooks: ten distinct (event, webhook) pairs, no duplicate.
    expect(new Set(sent).size).to.equal(5);
    const states = await h.knex('ns_webhook_deliveries').select('state', 'attempts');
    expect(states.every((s) => s.state === 'delivered' && Number(s.attempts) === 1)).to.equal(true);
  });

  it('queues deliveries in the event transaction: a rolled-back login queues nothing', async () => {
    await create('acme', { url: rx.url, events: ['LOGIN'] });
    const acme = await h.servers.getByName('acme');
    const login = {
      type: 'session.login' as const,
      server: { id: acme.id, name: acme.name },
      actor: { kind: 'account' as const, id: 'acct1' },
      subject: { kind: 'user' as const, id: 'alice' },
      details: { session: 'sess1' },
    };
    await h.knex
      .transaction(async (trx) => {
        await h.audit.record(login, trx);
        throw new Error('login failed later');
      })
      .catch(() => {});
    expect(Number((await h.knex('ns_webhook_deliveries').count({ n: '*' }))[0]?.n)).to.equal(0);
    await h.knex.transaction(async (trx) => {
      await h.audit.record(login, trx);
    });
    expect(Number((await h.knex('ns_webhook_deliveries').count({ n: '*' }))[0]?.n)).to.equal(1);
    // Not subscribed: a logout queues nothing for this webhook.
    await logout();
    expect(Number((await h.knex('ns_webhook_deliveries').count({ n: '*' }))[0]?.n)).to.equal(1);
    expect(await h.dispatcher().runOnce()).to.equal(1);
    expect(JSON.parse(rx.received[0]?.body ?? '{}').data).to.deep.include({ type: 'LOGIN', userid: 'alice' });
  });

  it('deleting a webhook drops its queued deliveries', async () => {
    const { body: hook } = await create('acme', { url: rx.url, events: ['LOGOUT'] });
    await logout();
    expect((await send('DELETE', `servers/acme/webhooks/${hook.id}`, hookPath, rootKey)).status).to.equal(
      204,
    );
    expect(Number((await h.knex('ns_webhook_deliveries').count({ n: '*' }))[0]?.n)).to.equal(0);
    expect(await h.dispatcher().runOnce()).to.equal(0);
    expect(rx.received).to.deep.equal([]);
  });
});
