// createNsService end to end over a real loopback WebSocket: embedded start creates `default` with its key
// and registers it at the SFS, the runtime-style socket attachment serves `/ns/mobile`, and a phone enrols
// and logs a browser session in; oversized WebSocket messages are cut off by `maxPayload`.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Knex } from 'knex';
import { FixedClock, systemRandom } from '../../../../auth-server/common/clock.js';
import { loadConfig } from '../../../../auth-server/common/config/index.js';
import { openDb } from '../../../../auth-server/common/db/connect.js';
import { migrateLatest } from '../../../../auth-server/common/db/migrate.js';
import {
  attachMobileSockets,
  type MobileSockets,
} from '../../../../auth-server/common/http/mobile-sockets.js';
import { MemoryKv } from '../../../../auth-server/common/kv/memory.js';
import { createMetrics } from '../../../../auth-server/common/metrics.js';
import { createNsService, type NsServiceInstance } from '../../../../auth-server/ns/service.js';
import { attestationChallenge } from '../../../../protocol/attestation-binding.js';
import { Channel, ChannelError, connect, signerFromKeyPair } from '../../../../protocol/index.js';
import { nsMobileMessages } from '../../../../protocol/mobile/ns.js';
import { mobileSocketUrl, parseEnrolUri } from '../../../../protocol/mobile/uris.js';
import { openLoopbackClient } from '../../../protocol/ws-server.js';
import { captureLogs, type FakeSfs, fakeSfs, newPhone, nsState } from './fixtures.js';

describe('ns mobile over a real WebSocket (createNsService)', function () {
  this.timeout(20_000);
  const publicUrl = 'http://127.0.0.1:3000';
  let dataDir: string;
  let knex: Knex;
  let kv: MemoryKv;
  let clock: FixedClock;
  let sfs: FakeSfs;
  let ns: NsServiceInstance;
  let server: Server;
  let sockets: MobileSockets;
  let wsUrl: string;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'nextauth-ns-ws-'));
    const config = loadConfig(
      {
        NEXTAUTH_DATA_DIR: dataDir,
        NEXTAUTH_PUBLIC_URL: publicUrl,
        NEXTAUTH_NS_ROOT_API_KEY: 'ws-test-root-key-0123456789',
        NEXTAUTH_SECRET_KEY: 'ws-test-secret-key-0123456789',
      },
      { mode: 'embedded' },
    );
    knex = openDb({ dataDir, service: 'ns' });
    await migrateLatest(knex, 'ns');
    clock = new FixedClock(Date.now());
    kv = new MemoryKv({ clock });
    sfs = await fakeSfs(clock);
    const logger = captureLogs().logger;
    ns = createNsService({
      config,
      logger,
      metrics: createMetrics({ defaults: false }),
      clock,
      random: systemRandom,
      kv,
      db: knex,
      peers: { sfs: sfs.peer },
    });
    await ns.start?.();
    if (!ns.mobile) throw new Error('NS offers no mobile endpoint');
    server = createServer((_, res) => res.end());
    sockets = attachMobileSockets(server, [ns.mobile], { logger, trustProxy: false, accepting: () => true });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    wsUrl = mobileSocketUrl(`http://127.0.0.1:${port}`, '/ns/mobile');
  });

  after(async () => {
    await sockets.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await kv.close();
    await knex.destroy();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('embedded start gives `default` a key and registers it at the SFS with its PIN policy', async () => {
    const row = await knex('ns_virtual_servers').where({ name: 'default' }).first();
    expect(row.identity_thumbprint).to.match(/^[A-Za-z0-9_-]{43}$/);
    expect(sfs.registered).to.deep.equal([
      {
        id: `${publicUrl}/ns/default`,
        policy: { maxAttempts: 5, lockoutSeconds: 300, maxLockoutSeconds: 86_400, blockAfterLockouts: 5 },
      },
    ]);
    expect(ns.mobile?.path).to.equal('/ns/mobile');
  });

  it('a phone enrols and logs a browser in over ws://…/ns/mobile', async () => {
    const link = parseEnrolUri(
      (await ns.accounts.createEnrolLink({ server: 'default', userid: 'alice' })).uri,
    );
    expect(link.ns).to.equal(publicUrl);
    const phone = await newPhone();
    const enrol = new Channel(
      await connect(await openLoopbackClient(wsUrl), {
        target: { kind: 'ns', id: link.s },
        server: { fingerprints: [link.fp] },
        identity: null,
      }),
      nsMobileMessages,
    );
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
    const { accountId } = await enrol.request('enrol.complete', {
      token: link.t,
      accountKey: phone.jwk,
      attestation: await bind(enrol, 'enrol'),
    });
    await enrol.close();

    const { nonce } = await ns.sessions.createSession({
      server: 'default',
      userAgent: 'Firefox',
      ip: '192.0.2.1',
    });
    const { code } = await ns.sessions.currentLoginCode(nonce);
    const login = new Channel(
      await connect(await openLoopbackClient(wsUrl), {
        target: { kind: 'ns', id: 'default' },
        server: { fingerprints: [link.fp] },
        identity: await signerFromKeyPair(phone.keyPair),
      }),
      nsMobileMessages,
    );
    const scanned = await login.request('login.scan', { code });
    await login.request('login.confirm', { login: scanned.login, attestation: await bind(login, 'login') });
    expect(await ns.sessions.getStatus(nonce)).to.deep.include({
      loggedin: true,
      userid: 'alice',
      accountid: accountId,
    });
    await login.close();
  });

  it('cuts off a WebSocket message above 64 KiB before the channel sees it', async () => {
    const fp = (await ns.identities.serverIdentity('default'))?.thumbprint ?? '';
    const session = await connect(await openLoopbackClient(wsUrl, 1024 * 1024), {
      target: { kind: 'ns', id: 'default' },
      server: { fingerprints: [fp] },
      identity: null,
      maxFrameBytes: 1024 * 1024,
    });
    const before = await nsState(knex);
    await session
      .send(
        new TextEncoder().encode(
          `{"t":"req","id":1,"type":"enrol.begin","body":{"token":"${'A'.repeat(70_000)}"}}`,
        ),
      )
      .catch(() => {});
    const closed = await session.closed;
    expect(closed).to.be.instanceOf(ChannelError);
    expect(await nsState(knex)).to.deep.equal(before);
  });
});
