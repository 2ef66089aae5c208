// `/ns/events` end to end: two NS instances (createNsService) share a database and a bus; the phone talks to
// instance A while integrators listen on instance B. Upgrades are authorized by X-apikey (401 / 403 / 404
// before any WebSocket exists), a server key hears only its server, and a real enrolment, scan, login,
// logout and a scan by a phone without an account arrive as REGISTER, CONFIRMSCAN, LOGIN, LOGOUT and
// NOACCOUNTS — ids only, never the nonce or the login code; a decline, a PIN lockout reported by the SFS and
// an operator's block as CANCEL, PINLOCKOUT and BLOCK, while a webhook with a local receiver gets enrolment,
// login, logout, lockout and block as CloudEvents whose signatures verify. A peer that stops answering pings
// is dropped, and a key revoked while its socket is open loses it at the next ping.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Router from '@koa/router';
import { expect } from 'chai';
import type { Knex } from 'knex';
import { WebSocket } from 'ws';
import { FixedClock, systemRandom } from '../../../../auth-server/common/clock.js';
import { loadConfig } from '../../../../auth-server/common/config/index.js';
import { openDb } from '../../../../auth-server/common/db/connect.js';
import { migrateLatest } from '../../../../auth-server/common/db/migrate.js';
import { createHttpApp } from '../../../../auth-server/common/http/app.js';
import {
  attachMobileSockets,
  type MobileSockets,
} from '../../../../auth-server/common/http/mobile-sockets.js';
import { MemoryKv } from '../../../../auth-server/common/kv/memory.js';
import { createMetrics } from '../../../../auth-server/common/metrics.js';
import { createApiKeyRepository } from '../../../../auth-server/ns/apikeys/repository.js';
import { createApiKeyVerifier } from '../../../../auth-server/ns/apikeys/verify.js';
import { createBusinessEvents } from '../../../../auth-server/ns/events/service.js';
import { createEventSocketEndpoint } from '../../../../auth-server/ns/events/socket.js';
import { createVirtualServerRepository } from '../../../../auth-server/ns/servers/repository.js';
import { createNsService, type NsServiceInstance } from '../../../../auth-server/ns/service.js';
import { verifyWebhook } from '../../../../auth-server/ns/webhooks/signature.js';
import { attestationChallenge } from '../../../../protocol/attestation-binding.js';
import { Channel, connect, MessageError, signerFromKeyPair } from '../../../../protocol/index.js';
import { nsMobileMessages } from '../../../../protocol/mobile/ns.js';
import { mobileSocketUrl, parseEnrolUri } from '../../../../protocol/mobile/uris.js';
import { openLoopbackClient } from '../../../protocol/ws-server.js';
import { captureLogs, type FakeSfs, fakeSfs, newPhone } from '../mobile/fixtures.js';

const publicUrl = 'http://127.0.0.1:3000';
const rootKey = 'events-test-root-key-0123456789';

interface Instance {
  ns: NsServiceInstance;
  server: Server;
  sockets: MobileSockets;
  base: string;
}

/** A socket and the JSON messages it received, in order. */
interface Listener {
  ws: WebSocket;
  next(): Promise<Record<string, unknown>>;
}

function listen(url: string, key: string | undefined): Promise<Listener> {
  const ws = new WebSocket(url, key === undefined ? {} : { headers: { 'x-apikey': key } });
  const queue: Record<string, unknown>[] = [];
  const waiting: ((m: Record<string, unknown>) => void)[] = [];
  ws.on('message', (data) => {
    const message = JSON.parse(String(data)) as Record<string, unknown>;
    const waiter = waiting.shift();
    if (waiter) waiter(message);
    else queue.push(message);
  });
  const listener: Listener = {
    ws,
    next: () => {
      const queued = queue.shift();
      if (queued) return Promise.resolve(queued);
      return new Promise((resolve, reject) => {
        waiting.push(resolve);
        ws.once('close', () => reject(new Error('socket closed')));
      });
    },
  };
  return new Promise((resolve, reject) => {
    ws.once('unexpected-response', (_req, res) => reject(new Error(`refused ${res.statusCode}`)));
    ws.once('error', reject);
    // Subscribed once READY arrives: everything after it is heard.
    listener.next().then((first) => {
      expect(first).to.deep.equal({ type: 'READY' });
      resolve(listener);
    }, reject);
  });
}

/** The HTTP status an upgrade is refused with. */
function refusal(url: string, key: string | undefined): Promise<number> {
  const ws = new WebSocket(url, key === undefined ? {} : { headers: { 'x-apikey': key } });
  return new Promise((resolve, reject) => {
    ws.on('error', () => {});
    ws.once('unexpected-response', (req, res) => {
      resolve(res.statusCode ?? 0);
      req.destroy();
    });
    ws.once('open', () => reject(new Error('upgrade accepted')));
  });
}

describe('ns /ns/events WebSocket', function () {
  this.timeout(20_000);
  let dataDir: string;
  let knex: Knex;
  let kv: MemoryKv;
  let clock: FixedClock;
  let sfs: FakeSfs;
  let a: Instance;
  let b: Instance;
  const keys: Record<string, string> = {};
  const keyIds: Record<string, string> = {};
  let eventsUrl: string;

  const startInstance = async (): Promise<Instance> => {
    const config = loadConfig(
      {
        NEXTAUTH_DATA_DIR: dataDir,
        NEXTAUTH_PUBLIC_URL: publicUrl,
        NEXTAUTH_NS_ROOT_API_KEY: rootKey,
        NEXTAUTH_SECRET_KEY: 'events-test-secret-key-0123456789',
        NEXTAUTH_OUTBOUND_ALLOW: '127.0.0.1',
      },
      { mode: 'embedded' },
    );
    const logger = captureLogs().logger;
    const ns = createNsService({
      config,
      logger,
      metrics: createMetrics({ defaults: false }),
      clock,
      random: systemRandom,
      kv,
      db: knex,
      peers: { sfs: sfs.peer },
    });
    const app = createHttpApp({ logger });
    const root = new Router();
    if (ns.router) root.use('/ns', ns.router.routes(), ns.router.allowedMethods());
    app.use(root.routes()).use(root.allowedMethods());
    const server = createServer(app.callback());
    const sockets = attachMobileSockets(server, ns.mobile ? [ns.mobile] : [], {
      logger,
      trustProxy: false,
      accepting: () => true,
      sockets: ns.sockets ?? [],
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { ns, server, sockets, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  };

  const stopInstance = async (i: Instance) => {
    await i.sockets.close();
    i.server.closeAllConnections();
    await new Promise((r) => i.server.close(r));
    await i.ns.close?.();
  };

  const rest = async (base: string, method: string, path: string, body?: unknown, headers = {}) => {
    const res = await fetch(`${base}/ns/api/v2${path}`, {
      method,
      headers: { 'x-apikey': rootKey, ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return {
      status: res.status,
      body: res.status === 204 ? undefined : ((await res.json()) as Record<string, unknown>),
    };
  };

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'nextauth-ns-events-ws-'));
    knex = openDb({ dataDir, service: 'ns' });
    await migrateLatest(knex, 'ns');
    clock = new FixedClock(Date.now());
    kv = new MemoryKv({ clock });
    sfs = await fakeSfs(clock);
    a = await startInstance();
    b = await startInstance();
    await a.ns.start?.();
    expect((await rest(b.base, 'POST', '/servers', { name: 'other', displayName: 'Other' })).status).to.equal(
      201,
    );
    for (const [name, server, roles] of [
      ['defaultSessions', 'default', ['sessions']],
      ['otherSessions', 'other', ['sessions']],
      ['defaultUsers', 'default', ['users']],
    ] as const) {
      const res = await rest(b.base, 'POST', `/servers/${server}/apikeys`, { name, roles });
      expect(res.status).to.equal(201);
      keys[name] = String(res.body?.key);
      keyIds[name] = String(res.body?.id);
    }
    eventsUrl = `${b.base.replace('http', 'ws')}/ns/events`;
  });

  after(async () => {
    await stopInstance(a);
    await stopInstance(b);
    await kv.close();
    await knex.destroy();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('refuses upgrades without a valid key (401), without the sessions role (403), for another server (404)', async () => {
    expect(await refusal(eventsUrl, undefined)).to.equal(401);
    expect(await refusal(eventsUrl, 'nak_wrong')).to.equal(401);
    expect(await refusal(eventsUrl, keys.defaultUsers)).to.equal(403);
    expect(await refusal(`${eventsUrl}?server=other`, keys.defaultSessions)).to.equal(404);
    expect(await refusal(`${eventsUrl}?server=nosuch`, rootKey)).to.equal(404);
    expect(await refusal(`${eventsUrl}?server=BAD!`, rootKey)).to.equal(404);
    expect(await refusal(`${eventsUrl}?server=default&server=other`, rootKey)).to.equal(400);
  });

  it('tells enrolment, scan, login, logout and a phone without an account, across instances and per server', async () => {
    const everything = await listen(eventsUrl, rootKey);
    const defaultOnly = await listen(eventsUrl, keys.defaultSessions);
    const rootFiltered = await listen(`${eventsUrl}?server=other`, rootKey);
    const otherKey = await listen(eventsUrl, keys.otherSessions);

    // The phone talks to instance A.
    const wsA = mobileSocketUrl(a.base, '/ns/mobile');
    const link = parseEnrolUri(
      (await a.ns.accounts.createEnrolLink({ server: 'default', userid: 'alice' })).uri,
    );
    const phone = await newPhone();
    const globalId = `${publicUrl}/ns/default`;
    const bind = async (channel: Channel<typeof nsMobileMessages>, purpose: 'enrol' | 'login') =>
      sfs.attest({
        aud: globalId,
        sub: phone.instanceId,
        challenge: await attestationChallenge({
          serverId: globalId,
          accountKeyThumbprint: phone.thumbprint,
          transcriptHash: channel.session.info.transcriptHash,
          purpose,
        }),
      });
    const enrol = new Channel(
      await connect(await openLoopbackClient(wsA), {
        target: { kind: 'ns', id: link.s },
        server: { fingerprints: [link.fp] },
        identity: null,
      }),
      nsMobileMessages,
    );
    const { accountId } = await enrol.request('enrol.complete', {
      token: link.t,
      accountKey: phone.jwk,
      attestation: await bind(enrol, 'enrol'),
    });

    // A browser session whose code a phone without an account scans (on the anonymous channel).
    const lonely = await a.ns.sessions.createSession({
      server: 'default',
      userAgent: 'Firefox',
      ip: '192.0.2.1',
    });
    const lonelyCode = (await a.ns.sessions.currentLoginCode(lonely.nonce)).code;
    const noAccount = await enrol.request('login.scan', { code: lonelyCode }).catch((err: unknown) => err);
    expect(noAccount).to.be.instanceOf(MessageError);
    expect((noAccount as MessageError).code).to.equal('no_account');
    await enrol.close();

    const { nonce, session } = await a.ns.sessions.createSession({
      server: 'default',
      userAgent: 'Firefox',
      ip: '192.0.2.1',
    });
    const { code } = await a.ns.sessions.currentLoginCode(nonce);
    const login = new Channel(
      await connect(await openLoopbackClient(wsA), {
        target: { kind: 'ns', id: 'default' },
        server: { fingerprints: [link.fp] },
        identity: await signerFromKeyPair(phone.keyPair),
      }),
      nsMobileMessages,
    );
    const scanned = await login.request('login.scan', { code });
    await login.request('login.confirm', { login: scanned.login, attestation: await bind(login, 'login') });
    await login.close();
    // The integrator logs the browser out over REST on instance B.
    expect((await rest(b.base, 'POST', '/logout', undefined, { 'x-nonce': nonce })).status).to.equal(200);

    // An event of `other` (a logout of a fresh session there) ends what the `other` listeners hear.
    const elsewhere = await a.ns.sessions.createSession({
      server: 'other',
      userAgent: 'Firefox',
      ip: '192.0.2.1',
    });
    expect(
      (await rest(a.base, 'POST', '/logout', undefined, { 'x-nonce': elsewhere.nonce })).status,
    ).to.equal(200);

    const expected = [
      { type: 'REGISTER', server: 'default', userid: 'alice', account: accountId, session: null },
      { type: 'NOACCOUNTS', server: 'default', userid: null, account: null, session: lonely.session.id },
      { type: 'CONFIRMSCAN', server: 'default', userid: 'alice', account: accountId, session: session.id },
      { type: 'LOGIN', server: 'default', userid: 'alice', account: accountId, session: session.id },
      { type: 'LOGOUT', server: 'default', userid: 'alice', account: accountId, session: session.id },
    ];
    const otherLogout = {
      type: 'LOGOUT',
      server: 'other',
      userid: null,
      account: null,
      session: elsewhere.session.id,
    };
    for (const listener of [everything, defaultOnly]) {
      for (const want of expected) {
        const got = await listener.next();
        expect(got).to.deep.include(want);
        expect(got.id).to.match(/^[0-9a-f]{32}$/);
        expect(Date.parse(String(got.time))).to.be.a('number');
        const text = JSON.stringify(got);
        for (const secret of [nonce, code, lonely.nonce, lonelyCode]) expect(text).to.not.include(secret);
      }
    }
    expect(await everything.next()).to.deep.include(otherLogout);
    // The `other` listeners heard nothing of `default`: the first thing they got is `other`'s logout.
    expect(await rootFiltered.next()).to.deep.include(otherLogout);
    expect(await otherKey.next()).to.deep.include(otherLogout);
    for (const l of [everything, defaultOnly, rootFiltered, otherKey]) l.ws.close();
  });

  it('tells a decline (CANCEL), a PIN lockout and a block on the socket, and delivers enrol, login, logout, lockout and block as signed webhooks', async () => {
    const listener = await listen(eventsUrl, keys.defaultSessions);
    // A local receiver for the webhook (loopback is allowed by NEXTAUTH_OUTBOUND_ALLOW of both instances).
    const received: { headers: Record<string, unknown>; body: string }[] = [];
    let delivered: (() => void) | undefined;
    const receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(204).end();
        if (received.length === 5) delivered?.();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const all = new Promise<void>((resolve) => {
      delivered = resolve;
    });
    const hook = await rest(a.base, 'POST', '/servers/default/webhooks', {
      url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`,
      events: ['REGISTER', 'LOGIN', 'LOGOUT', 'BLOCK', 'PINLOCKOUT'],
    });
    expect(hook.status).to.equal(201);

    const wsA = mobileSocketUrl(a.base, '/ns/mobile');
    const link = parseEnrolUri(
      (await a.ns.accounts.createEnrolLink({ server: 'default', userid: 'bob' })).uri,
    );
    const phone = await newPhone();
    const globalId = `${publicUrl}/ns/default`;
    const bind = async (channel: Channel<typeof nsMobileMessages>, purpose: 'enrol' | 'login') =>
      sfs.attest({
        aud: globalId,
        sub: phone.instanceId,
        challenge: await attestationChallenge({
          serverId: globalId,
          accountKeyThumbprint: phone.thumbprint,
          transcriptHash: channel.session.info.transcriptHash,
          purpose,
        }),
      });
    const enrol = new Channel(
      await connect(await openLoopbackClient(wsA), {
        target: { kind: 'ns', id: link.s },
        server: { fingerprints: [link.fp] },
        identity: null,
      }),
      nsMobileMessages,
    );
    const { accountId } = await enrol.request('enrol.complete', {
      token: link.t,
      accountKey: phone.jwk,
      attestation: await bind(enrol, 'enrol'),
    });
    await enrol.close();

    const login = new Channel(
      await connect(await openLoopbackClient(wsA), {
        target: { kind: 'ns', id: 'default' },
        server: { fingerprints: [link.fp] },
        identity: await signerFromKeyPair(phone.keyPair),
      }),
      nsMobileMessages,
    );
    const browser = { server: 'default', userAgent: 'Firefox', ip: '192.0.2.1' };
    // The user declines one login and approves the next; the integrator logs that one out.
    const refused = await a.ns.sessions.createSession(browser);
    const declined = await login.request('login.scan', {
      code: (await a.ns.sessions.currentLoginCode(refused.nonce)).code,
    });
    expect(await login.request('login.decline', { login: declined.login, reason: 'declined' })).to.deep.equal(
      {
        status: 'declined',
      },
    );
    const approved = await a.ns.sessions.createSession(browser);
    const scanned = await login.request('login.scan', {
      code: (await a.ns.sessions.currentLoginCode(approved.nonce)).code,
    });
    await login.request('login.confirm', { login: scanned.login, attestation: await bind(login, 'login') });
    await login.close();
    expect((await rest(a.base, 'POST', '/logout', undefined, { 'x-nonce': approved.nonce })).status).to.equal(
      200,
    );
    // The SFS reports that the phone's PIN is locked; then an operator blocks the account.
    const nsPeer = a.ns.provides?.ns;
    if (!nsPeer) throw new Error('NS provides no peer');
    await nsPeer.reportPinLockout({
      serverId: globalId,
      appInstanceId: phone.instanceId,
      lockout: 'locked',
      retryAfterSeconds: 60,
    });
    expect((await rest(a.base, 'POST', `/servers/default/accounts/${accountId}/block`)).status).to.equal(200);

    const ids = { server: 'default', userid: 'bob', account: accountId };
    const expected = [
      { type: 'REGISTER', ...ids, session: null },
      { type: 'CONFIRMSCAN', ...ids, session: refused.session.id },
      { type: 'CANCEL', ...ids, session: refused.session.id },
      { type: 'CONFIRMSCAN', ...ids, session: approved.session.id },
      { type: 'LOGIN', ...ids, session: approved.session.id },
      { type: 'LOGOUT', ...ids, session: approved.session.id },
      { type: 'PINLOCKOUT', ...ids, session: null },
      { type: 'BLOCK', ...ids, session: null },
    ];
    for (const want of expected) expect(await listener.next()).to.deep.include(want);
    listener.ws.close();

    // The dispatcher of instance A (started) delivers every queued event, each signed with the secret.
    await all;
    const secret = String(hook.body?.secret);
    const events = received.map(({ headers, body }) => {
      expect(headers['content-type']).to.equal('application/cloudevents+json');
      expect(
        verifyWebhook(secret, headers as never, body, { nowSeconds: Math.floor(clock.now() / 1000) }),
        body,
      ).to.equal(true);
      return JSON.parse(body) as { type: string; data: Record<string, unknown> };
    });
    expect(events.map((e) => e.type).sort()).to.deep.equal(
      ['block', 'login', 'logout', 'pinlockout', 'register'].map((t) => `dev.nextauth.ns.${t}`).sort(),
    );
    for (const event of events) expect(event.data).to.deep.include(ids);
    receiver.closeAllConnections();
    await new Promise((r) => receiver.close(r));
  });

  it('closes a socket whose client sends a message (1003: it only sends)', async () => {
    const chatty = await listen(eventsUrl, rootKey);
    const closed = new Promise<number>((resolve) => chatty.ws.once('close', (code) => resolve(code)));
    chatty.ws.send('{"subscribe":"all"}');
    expect(await closed).to.equal(1003);
  });

  it('cuts off a client message above maxPayload', async () => {
    const big = await listen(eventsUrl, rootKey);
    const closed = new Promise<number>((resolve) => big.ws.once('close', (code) => resolve(code)));
    big.ws.send('x'.repeat(4096));
    expect(await closed).to.equal(1009);
  });

  it('drops a peer that stops answering pings, and closes the socket of a revoked key', async () => {
    // An endpoint of its own with a short ping interval; the client does not answer pings.
    const endpoint = createEventSocketEndpoint({
      apiKeys: createApiKeyVerifier({ rootApiKey: rootKey, repository: createApiKeyRepository(knex) }),
      servers: createVirtualServerRepository(knex, clock),
      events: createBusinessEvents({ kv, clock, random: systemRandom, logger: captureLogs().logger }),
      logger: captureLogs().logger,
      pingIntervalMs: 50,
    });
    const server = createServer((_, res) => res.end());
    const sockets = attachMobileSockets(server, [], {
      logger: captureLogs().logger,
      trustProxy: false,
      accepting: () => true,
      sockets: [endpoint],
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ns/events`;
    // A key revoked while its socket is open: the next ping's re-check closes it with 1008.
    const doomed = await listen(url, keys.otherSessions);
    const doomedClosed = new Promise<number>((resolve) => doomed.ws.once('close', (code) => resolve(code)));
    const revoked = await rest(b.base, 'DELETE', `/servers/other/apikeys/${keyIds.otherSessions}`);
    expect(revoked.status).to.equal(204);
    expect(await doomedClosed).to.equal(1008);
    expect(await refusal(url, keys.otherSessions)).to.equal(401);
    const silent = new WebSocket(url, { headers: { 'x-apikey': rootKey }, autoPong: false });
    const answering = new WebSocket(url, { headers: { 'x-apikey': rootKey } });
    let pings = 0;
    answering.on('ping', () => {
      pings++;
    });
    const closed = new Promise<number>((resolve) => silent.once('close', (code) => resolve(code)));
    // 1006: terminated without a closing handshake.
    expect(await closed).to.equal(1006);
    expect(answering.readyState).to.equal(WebSocket.OPEN);
    expect(pings).to.be.greaterThan(0);
    answering.close();
    await sockets.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
});
