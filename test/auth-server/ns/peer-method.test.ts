// The NS peer tells the IdP how a login was confirmed (`method`, from the attestation), which becomes `amr`
// (logins stored before the method was kept read as PIN logins); and an SFS PIN lockout of the phone that
// scanned a login ends the browser's wait as `declined` / `locked`.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Knex } from 'knex';
import { FixedClock, systemRandom } from '../../../auth-server/common/clock.js';
import { loadConfig } from '../../../auth-server/common/config/index.js';
import { openDb } from '../../../auth-server/common/db/connect.js';
import { migrateLatest } from '../../../auth-server/common/db/migrate.js';
import { MemoryKv } from '../../../auth-server/common/kv/memory.js';
import { createMetrics } from '../../../auth-server/common/metrics.js';
import type { NsPeer } from '../../../auth-server/common/peers.js';
import { createAccountRepository } from '../../../auth-server/ns/accounts/repository.js';
import { createNsService, type NsServiceInstance } from '../../../auth-server/ns/service.js';
import { logger } from './api/harness.js';

describe('ns peer: the method of a login', () => {
  let dataDir: string;
  let knex: Knex;
  let kv: MemoryKv;
  let ns: NsServiceInstance;
  let peer: NsPeer;
  let clock: FixedClock;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'nextauth-ns-peer-method-'));
    knex = openDb({ dataDir, service: 'ns' });
    await migrateLatest(knex, 'ns');
    clock = new FixedClock(Date.UTC(2026, 0, 1));
    kv = new MemoryKv({ clock });
    ns = createNsService({
      config: loadConfig(
        {
          NEXTAUTH_DATA_DIR: dataDir,
          NEXTAUTH_SECRET_KEY: 'peer-test-secret-key-0123456789',
          NEXTAUTH_PUBLIC_URL: 'http://127.0.0.1:3000',
        },
        { mode: 'embedded' },
      ),
      logger,
      metrics: createMetrics({ defaults: false }),
      clock,
      random: systemRandom,
      kv,
      db: knex,
      peers: {},
    });
    await ns.start?.();
    const provided = ns.provides?.ns;
    if (!provided) throw new Error('NS provides no peer');
    peer = provided;
  });
  after(async () => {
    await kv.close();
    await knex.destroy();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function loggedIn(method: 'pin' | 'bio' | undefined) {
    const { nonce, session } = await ns.sessions.createSession({
      server: 'default',
      userAgent: 't',
      ip: '192.0.2.1',
    });
    await ns.sessions.markLoggedIn(session.id, {
      userid: 'alice',
      accountId: 'acc-1',
      ...(method ? { method } : {}),
    });
    return { nonce, id: session.id };
  }

  it('passes the stored method on: bio for a biometric login, pin for a PIN login', async () => {
    expect((await peer.browserSessionStatus('default', (await loggedIn('bio')).nonce))?.method).to.equal(
      'bio',
    );
    expect((await peer.browserSessionStatus('default', (await loggedIn('pin')).nonce))?.method).to.equal(
      'pin',
    );
    expect((await peer.browserSessionStatus('default', (await loggedIn(undefined)).nonce))?.method).to.equal(
      'pin',
    );
  });

  it('a login stored without a method (before it was kept) reads as pin; a waiting session has none', async () => {
    const { nonce, id } = await loggedIn('bio');
    await knex('ns_sessions').where({ id }).update({ auth_method: null });
    expect((await peer.browserSessionStatus('default', nonce))?.method).to.equal('pin');
    const waiting = await ns.sessions.createSession({ server: 'default', userAgent: 't', ip: '192.0.2.1' });
    expect(await peer.browserSessionStatus('default', waiting.nonce)).to.not.have.property('method');
  });

  describe('a PIN lockout of the scanning phone', () => {
    let serverId: string;

    before(async () => {
      serverId = (await knex('ns_virtual_servers').where({ name: 'default' }).first('id')).id;
      for (const [id, instance, thumb] of [
        ['acc-locked', 'inst-locked', 'L'],
        ['acc-other', 'inst-other', 'O'],
      ] as const)
        await createAccountRepository(knex).save({
          id,
          serverId,
          userid: id,
          publicJwk: { kty: 'EC', crv: 'P-256', x: thumb.repeat(43), y: 'B'.repeat(43) },
          keyThumbprint: thumb.repeat(43),
          appInstanceId: instance,
          sfsIssuer: 'http://127.0.0.1:3000/sfs',
          description: null,
          clientVersion: null,
          createdAt: new Date(clock.now()),
          lastLoginAt: null,
          lastPushAt: null,
          blockedAt: null,
        });
    });

    async function scannedBy(accountId: string | null) {
      const { nonce } = await ns.sessions.createSession({
        server: 'default',
        userAgent: 't',
        ip: '192.0.2.1',
      });
      if (accountId !== null) {
        const { code } = await ns.sessions.currentLoginCode(nonce);
        await ns.sessions.redeemLoginCode(code, { serverId, accountId });
      }
      return nonce;
    }

    it("ends the logins that phone's account scanned as declined / locked; others wait on", async () => {
      const mine = await scannedBy('acc-locked');
      const waiting = await scannedBy(null);
      const others = await scannedBy('acc-other');
      await peer.reportPinLockout({
        serverId: 'http://127.0.0.1:3000/ns/default',
        appInstanceId: 'inst-locked',
        lockout: 'locked',
        retryAfterSeconds: 300,
      });
      expect(await ns.sessions.getStatus(mine)).to.deep.include({
        state: 'declined',
        declineReason: 'locked',
      });
      expect((await ns.sessions.getStatus(waiting)).state).to.equal('waiting');
      expect((await ns.sessions.getStatus(others)).state).to.equal('scanned');
      // The IdP sees a declined login (the relying party gets access_denied).
      expect((await peer.browserSessionStatus('default', mine))?.state).to.equal('declined');
    });

    it('leaves a login that was confirmed before the report, and ignores lockouts of other servers', async () => {
      const nonce = await scannedBy('acc-locked');
      const session = await ns.sessions.findByNonce(nonce);
      if (!session) throw new Error('no session');
      await ns.sessions.markLoggedIn(session.id, { userid: 'acc-locked', accountId: 'acc-locked' });
      const pending = await scannedBy('acc-locked');
      await peer.reportPinLockout({
        serverId: 'https://other.example/ns/default',
        appInstanceId: 'inst-locked',
        lockout: 'blocked',
      });
      expect((await ns.sessions.getStatus(pending)).state).to.equal('scanned');
      await peer.reportPinLockout({
        serverId: 'http://127.0.0.1:3000/ns/default',
        appInstanceId: 'inst-locked',
        lockout: 'blocked',
      });
      expect((await ns.sessions.getStatus(nonce)).state).to.equal('loggedin');
      expect(await ns.sessions.getStatus(pending)).to.deep.include({ declineReason: 'locked' });
    });
  });
});
