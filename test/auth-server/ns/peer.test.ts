// The NS peer the IdP front doors use in-process: servers by name, the cookie name of the login page, a
// browser session's status (only for its own server), and whether a user may still log in.
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
import { createVirtualServerRepository } from '../../../auth-server/ns/servers/repository.js';
import { createNsService, type NsServiceInstance } from '../../../auth-server/ns/service.js';
import { createUserRepository } from '../../../auth-server/ns/users/repository.js';
import { logger } from './api/harness.js';

describe('ns peer (in-process)', () => {
  let dataDir: string;
  let knex: Knex;
  let kv: MemoryKv;
  let clock: FixedClock;
  let ns: NsServiceInstance;
  let peer: NsPeer;

  const start = (publicUrl: string) =>
    createNsService({
      config: loadConfig(
        {
          NEXTAUTH_DATA_DIR: dataDir,
          NEXTAUTH_SECRET_KEY: 'peer-test-secret-key-0123456789',
          NEXTAUTH_PUBLIC_URL: publicUrl,
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

  /** An enrolled account as the repository stores it; the key is a placeholder no test verifies. */
  const saveAccount = (a: {
    id: string;
    serverId: string;
    userid: string;
    keyThumbprint?: string;
    appInstanceId?: string;
    blockedAt?: Date | null;
  }) =>
    createAccountRepository(knex).save({
      id: a.id,
      serverId: a.serverId,
      userid: a.userid,
      publicJwk: { kty: 'EC', crv: 'P-256', x: 'A'.repeat(43), y: 'B'.repeat(43) },
      keyThumbprint: a.keyThumbprint ?? a.id.padEnd(43, 'K'),
      appInstanceId: a.appInstanceId ?? `inst-${a.id}`,
      sfsIssuer: 'http://127.0.0.1:3000/sfs',
      description: null,
      clientVersion: null,
      createdAt: new Date(clock.now()),
      lastLoginAt: null,
      lastPushAt: null,
      blockedAt: a.blockedAt ?? null,
    });

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'nextauth-ns-peer-'));
    knex = openDb({ dataDir, service: 'ns' });
    await migrateLatest(knex, 'ns');
    clock = new FixedClock(Date.UTC(2026, 0, 1));
    kv = new MemoryKv({ clock });
    ns = start('http://127.0.0.1:3000');
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

  it('finds servers by name; malformed and unknown names are undefined', async () => {
    expect(await peer.findServer('default')).to.deep.equal({ name: 'default', displayName: 'nextAuth' });
    expect(await peer.findServer('nosuch')).to.equal(undefined);
    expect(await peer.findServer('Bad_Name')).to.equal(undefined);
  });

  it('names the login cookie as the browser endpoints set it (__Host- on https)', () => {
    expect(peer.browserSessionCookieName('default')).to.equal('nextauth_ns_default');
    expect(start('https://id.example').provides?.ns?.browserSessionCookieName('default')).to.equal(
      '__Host-nextauth_ns_default',
    );
  });

  it('reports a session by nonce for its own server only; who, hsid and times once logged in', async () => {
    const { nonce, session } = await ns.sessions.createSession({
      server: 'default',
      userAgent: 'test',
      ip: '192.0.2.1',
    });
    expect(await peer.browserSessionStatus('default', nonce)).to.deep.equal({
      // The internal id (what NS's ns_logout message names), never the nonce.
      id: session.id,
      state: 'waiting',
      loggedin: false,
      createdAt: clock.now(),
      expiresAt: session.expiresAt.getTime(),
    });
    expect(await peer.browserSessionStatus('other', nonce)).to.equal(undefined);
    expect(await peer.browserSessionStatus('default', 'not-a-nonce')).to.equal(undefined);
    clock.advance(5000);
    await ns.sessions.markLoggedIn(session.id, { userid: 'alice', accountId: 'acc-1' });
    const status = await peer.browserSessionStatus('default', nonce);
    expect(status).to.deep.include({
      state: 'loggedin',
      loggedin: true,
      userid: 'alice',
      accountid: 'acc-1',
      loggedInAt: clock.now(),
    });
    expect(status?.hsid).to.match(/^[A-Za-z0-9_-]{16,32}$/);
  });

  it('a user without an account (or an unknown server) is not active', async () => {
    expect(await peer.userActive('default', 'nobody')).to.equal(false);
    expect(await peer.userActive('nosuch', 'alice')).to.equal(false);
  });

  it("returns a user's profile for claims; unknown users and servers are undefined", async () => {
    const server = await knex('ns_virtual_servers').where({ name: 'default' }).first('id');
    await createUserRepository(knex).save(
      {
        id: 'user-dave',
        serverId: server.id,
        userid: 'dave',
        name: 'Dave',
        email: 'dave@example.org',
        attributes: { email_verified: 'true' },
        groups: ['b', 'a'],
        createdAt: new Date(clock.now()),
        updatedAt: new Date(clock.now()),
      },
      true,
    );
    expect(await peer.userProfile('default', 'dave')).to.deep.equal({
      userid: 'dave',
      name: 'Dave',
      email: 'dave@example.org',
      attributes: { email_verified: 'true' },
      groups: ['a', 'b'],
    });
    expect(await peer.userProfile('default', 'nobody')).to.equal(undefined);
    expect(await peer.userProfile('nosuch', 'dave')).to.equal(undefined);
  });

  describe('activeUser (what a token grant asks, in one call)', () => {
    const account = (id: string, serverId: string, userid: string, blockedAt: Date | null) =>
      saveAccount({ id, serverId, userid, blockedAt });
    const serverId = async (name: string) =>
      ((await knex('ns_virtual_servers').where({ name }).first('id')) as { id: string }).id;

    it('gives the profile of a user with an unblocked account; {} when NS keeps no user record', async () => {
      const id = await serverId('default');
      await account('acc-dave', id, 'dave', null);
      await account('acc-erin', id, 'erin', null);
      expect(await peer.activeUser('default', 'dave')).to.deep.equal({
        profile: {
          userid: 'dave',
          name: 'Dave',
          email: 'dave@example.org',
          attributes: { email_verified: 'true' },
          groups: ['a', 'b'],
        },
      });
      expect(await peer.activeUser('default', 'erin')).to.deep.equal({});
    });

    it('is undefined for blocked-only users, users without accounts, unknown and malformed servers', async () => {
      await account('acc-fay', await serverId('default'), 'fay', new Date(clock.now()));
      expect(await peer.activeUser('default', 'fay')).to.equal(undefined);
      expect(await peer.userActive('default', 'fay')).to.equal(false);
      expect(await peer.activeUser('default', 'nobody')).to.equal(undefined);
      expect(await peer.activeUser('nosuch', 'dave')).to.equal(undefined);
      expect(await peer.activeUser('Bad_Name', 'dave')).to.equal(undefined);
    });

    it('sees a server created after a miss at once; a deleted server makes its users inactive at once', async () => {
      expect(await peer.activeUser('late', 'gus')).to.equal(undefined);
      const servers = createVirtualServerRepository(knex, clock);
      await servers.create({ name: 'late', displayName: 'Late' });
      await account('acc-gus', await serverId('late'), 'gus', null);
      expect(await peer.activeUser('late', 'gus')).to.deep.equal({});
      // The server id is kept for a few seconds; the accounts went with the server (foreign keys).
      await servers.delete('late');
      expect(await peer.activeUser('late', 'gus')).to.equal(undefined);
      expect(await peer.userActive('late', 'gus')).to.equal(false);
    });
  });

  describe('endBrowserSession', () => {
    const logouts = () => knex('ns_audit_events').where({ type: 'session.logout' }).select('*');

    it('ends an active session of its own server once, recorded as session.logout by the given actor', async () => {
      const { nonce, session } = await ns.sessions.createSession({
        server: 'default',
        userAgent: 'test',
        ip: '192.0.2.1',
      });
      await ns.sessions.markLoggedIn(session.id, { userid: 'alice', accountId: 'acc-1' });
      const before = (await logouts()).length;
      expect(await peer.endBrowserSession('other', nonce, 'idp-oidc')).to.equal(false);
      expect((await peer.browserSessionStatus('default', nonce))?.state).to.equal('loggedin');
      expect(await peer.endBrowserSession('default', nonce, 'idp-oidc')).to.equal(true);
      expect((await peer.browserSessionStatus('default', nonce))?.state).to.equal('loggedout');
      expect(await peer.endBrowserSession('default', nonce, 'idp-oidc')).to.equal(false);
      const rows = await logouts();
      expect(rows).to.have.length(before + 1);
      expect(rows.at(-1)).to.deep.include({
        actor_kind: 'system',
        actor_id: 'idp-oidc',
        subject_kind: 'user',
        subject_id: 'alice',
      });
    });

    it('unknown nonces end nothing', async () => {
      expect(await peer.endBrowserSession('default', 'not-a-nonce', 'idp-oidc')).to.equal(false);
    });
  });

  describe('reportPinLockout', () => {
    const lockouts = () => knex('ns_audit_events').where({ type: 'pin.lockout' }).select('*');

    before(async () => {
      const server = await knex('ns_virtual_servers').where({ name: 'default' }).first('id');
      await saveAccount({
        id: 'acc-lock',
        serverId: server.id,
        userid: 'carol',
        keyThumbprint: 'C'.repeat(43),
        appInstanceId: 'inst-1',
      });
    });

    it("records pin.lockout for the instance's account on that server, by the SFS", async () => {
      await peer.reportPinLockout({
        serverId: 'http://127.0.0.1:3000/ns/default',
        appInstanceId: 'inst-1',
        lockout: 'locked',
        retryAfterSeconds: 300,
      });
      const rows = await lockouts();
      expect(rows).to.have.length(1);
      expect(rows[0]).to.deep.include({
        subject_kind: 'account',
        subject_id: 'acc-lock',
        actor_kind: 'system',
      });
      expect(JSON.parse(rows[0].details)).to.deep.equal({
        userid: 'carol',
        lockout: 'locked',
        retryAfterSeconds: 300,
      });
    });

    it('ignores servers of another NS, unknown servers and unknown instances', async () => {
      const before = (await lockouts()).length;
      for (const serverId of ['https://other.example/ns/default', 'http://127.0.0.1:3000/ns/nosuch']) {
        await peer.reportPinLockout({ serverId, appInstanceId: 'inst-1', lockout: 'blocked' });
      }
      await peer.reportPinLockout({
        serverId: 'http://127.0.0.1:3000/ns/default',
        appInstanceId: 'inst-unknown',
        lockout: 'blocked',
      });
      expect(await lockouts()).to.have.length(before);
    });
  });
  describe('IdP management API', () => {
    it('authenticateApiKey: a missing, oversized or unknown key is undefined', async () => {
      expect(await peer.authenticateApiKey(undefined, 'default')).to.equal(undefined);
      expect(await peer.authenticateApiKey('x'.repeat(600), 'default')).to.equal(undefined);
      expect(await peer.authenticateApiKey('nak_unknown', 'default')).to.equal(undefined);
    });

    it('recordAdminEvent appends to the audit log; a secret-like detail is refused, nothing stored', async () => {
      const count = async () => Number((await knex('ns_audit_events').count({ n: '*' }))[0]?.n);
      await peer.recordAdminEvent({
        type: 'oidc_client.created',
        server: 'default',
        actor: 'key-1',
        subject: { kind: 'oidc_client', id: 'webapp' },
        ip: '192.0.2.9',
        userAgent: 'cli',
        details: { grantTypes: ['authorization_code'] },
      });
      const row = await knex('ns_audit_events').where({ type: 'oidc_client.created' }).first();
      expect(row).to.deep.include({
        server_name: 'default',
        actor_kind: 'apikey',
        actor_id: 'key-1',
        subject_kind: 'oidc_client',
        subject_id: 'webapp',
        ip: '192.0.2.9',
      });
      // A server deleted meanwhile is still named.
      await peer.recordAdminEvent({
        type: 'oidc_keys.rotated',
        server: 'gone',
        actor: 'root',
        subject: { kind: 'server', id: 'gone' },
        ip: null,
        userAgent: null,
      });
      const gone = await knex('ns_audit_events').where({ type: 'oidc_keys.rotated' }).first();
      expect(gone.server_id).to.equal(null);
      expect(JSON.parse(gone.details)).to.deep.equal({ server: 'gone' });
      const before = await count();
      let refused: unknown;
      await peer
        .recordAdminEvent({
          type: 'oidc_client.created',
          server: 'default',
          actor: 'key-1',
          subject: { kind: 'oidc_client', id: 'x' },
          ip: null,
          userAgent: null,
          details: { clientSecret: 'nope' },
        })
        .catch((err) => {
          refused = err;
        });
      expect(refused).to.be.instanceOf(Error);
      expect(await count()).to.equal(before);
    });

    it('recordIdpSessionEvent appends the start and the end of an IdP session, ids only', async () => {
      await peer.recordIdpSessionEvent({
        type: 'idp_session.started',
        server: 'default',
        session: 'idp-s-1',
        userid: 'alice',
        account: 'acc-1',
        amr: ['swk', 'pin'],
        ip: '192.0.2.7',
        userAgent: 'Chromium',
      });
      await peer.recordIdpSessionEvent({
        type: 'idp_session.ended',
        server: 'default',
        session: 'idp-s-1',
        userid: 'alice',
        account: 'acc-1',
        cause: 'logout',
        ip: null,
        userAgent: null,
      });
      const started = await knex('ns_audit_events').where({ type: 'idp_session.started' }).first();
      expect(started).to.deep.include({
        server_name: 'default',
        actor_kind: 'system',
        actor_id: 'idp',
        subject_kind: 'user',
        subject_id: 'alice',
        ip: '192.0.2.7',
      });
      expect(JSON.parse(started.details)).to.deep.equal({
        idpSession: 'idp-s-1',
        account: 'acc-1',
        amr: ['swk', 'pin'],
      });
      const ended = await knex('ns_audit_events').where({ type: 'idp_session.ended' }).first();
      expect(JSON.parse(ended.details)).to.deep.equal({
        idpSession: 'idp-s-1',
        account: 'acc-1',
        cause: 'logout',
      });
    });
  });

  describe('CIBA transactions', () => {
    const request = {
      server: 'default',
      userid: 'dave',
      client: { id: 'bank', name: 'Bank' },
      bindingMessage: 'AB-12',
      authorizationDetails: null,
      expiresInSeconds: 60,
    };
    const count = async () =>
      Number(((await knex('ns_transactions').count({ n: '*' }).first()) as { n: unknown }).n);

    before(async () => {
      const server = await knex('ns_virtual_servers').where({ name: 'default' }).first('id');
      await saveAccount({
        id: 'acc-ciba',
        serverId: server.id,
        userid: 'dave',
        keyThumbprint: 'F'.repeat(43),
        appInstanceId: 'inst-ciba',
      });
    });

    it('refusals are results with a code, and store no transaction', async () => {
      const before = await count();
      const refusal = async (changes: Record<string, unknown>) => {
        const result = await peer.startCibaTransaction({ ...request, ...changes });
        expect(result.ok, JSON.stringify(result)).to.equal(false);
        return (result as { error: string }).error;
      };
      expect(await refusal({ server: 'nosuch' })).to.equal('unknown_server');
      expect(await refusal({ userid: 'nobody' })).to.equal('unknown_user');
      expect(await refusal({ authorizationDetails: { type: 'unregistered', a: '1' } })).to.equal(
        'unknown_type',
      );
      expect(
        await refusal({ authorizationDetails: { type: 'payment', amount: 12.5, currency: 'EUR' } }),
      ).to.equal('invalid_values');
      // This NS reaches no MC: nobody can receive it, and it is not kept as if it were pending.
      expect(await refusal({})).to.equal('push_unavailable');
      expect(await count()).to.equal(before);
    });

    it('the status of an unknown transaction, or of one asked for under another server, is undefined', async () => {
      expect(await peer.cibaTransactionStatus('default', 'A'.repeat(22))).to.equal(undefined);
      expect(await peer.cibaTransactionStatus('nosuch', 'A'.repeat(22))).to.equal(undefined);
    });
  });
});
