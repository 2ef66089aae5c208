// The OIDC storage on every database: the oidc-provider adapter (memory-adapter behaviour plus atomic
// consume), the client registry, the signing keys and the one-time NS login claims.
import { expect } from 'chai';
import type { Knex } from 'knex';
import { FixedClock, systemRandom } from '../../../auth-server/common/clock.js';
import { ConflictError } from '../../../auth-server/common/db/errors.js';
import { migrateLatest } from '../../../auth-server/common/db/migrate.js';
import type { NsBrowserSession, NsPeer } from '../../../auth-server/common/peers.js';
import { createNsLoginCollector, phonePinAcr } from '../../../idp/interaction/ns-login.js';
import {
  KnexAdapter,
  knexAdapterFactory,
  payloadsTable,
  sweepExpiredPayloads,
} from '../../../idp/oidc/adapter.js';
import { clientAdapter, clientMetadataTtlMs, createClientRepository } from '../../../idp/oidc/clients.js';
import { maxBatchKeys } from '../../../idp/oidc/find-batcher.js';
import { createSigningKeyStore } from '../../../idp/oidc/signing-keys.js';
import { describeEachDatabase } from '../../auth-server/common/db/databases.js';

class AlreadyConsumed extends Error {}

const secretKey = 'storage-test-secret-key-0123456789';

describeEachDatabase('idp/oidc storage', (db) => {
  let clock: FixedClock;
  const adapter = (model: string, server = 'default', knex: Knex = db().knex) =>
    new KnexAdapter(model, { knex, server, clock, alreadyConsumed: () => new AlreadyConsumed(model) });

  before(async () => {
    await migrateLatest(db().knex, 'idp');
  });
  beforeEach(async () => {
    clock = new FixedClock(Date.UTC(2026, 0, 1));
    const { knex } = db();
    for (const table of [payloadsTable, 'idp_oidc_clients', 'idp_oidc_signing_keys', 'idp_ns_login_claims'])
      await knex(table).delete();
  });

  describe('adapter', () => {
    it('stores, finds, replaces and destroys a payload', async () => {
      const codes = adapter('AuthorizationCode');
      await codes.upsert('c1', { jti: 'c1', grantId: 'g1', kind: 'AuthorizationCode' }, 60);
      expect(await codes.find('c1')).to.deep.equal({ jti: 'c1', grantId: 'g1', kind: 'AuthorizationCode' });
      await codes.upsert('c1', { jti: 'c1', grantId: 'g1', kind: 'AuthorizationCode', scope: 'openid' }, 60);
      expect(await codes.find('c1')).to.deep.include({ scope: 'openid' });
      await codes.destroy('c1');
      expect(await codes.find('c1')).to.equal(undefined);
      expect(await codes.find('never')).to.equal(undefined);
    });

    it('forgets a payload once it expired, and the sweep deletes the row', async () => {
      const tokens = adapter('AccessToken');
      await tokens.upsert('t1', { jti: 't1' }, 10);
      await tokens.upsert('t2', { jti: 't2' });
      clock.advance(9_999);
      expect(await tokens.find('t1')).to.deep.include({ jti: 't1' });
      clock.advance(1);
      expect(await tokens.find('t1')).to.equal(undefined);
      expect(await sweepExpiredPayloads(db().knex, clock.now())).to.equal(1);
      expect(await tokens.find('t2')).to.deep.include({ jti: 't2' });
    });

    it('finds sessions by uid and device codes by user code', async () => {
      await adapter('Session').upsert('s1', { jti: 's1', uid: 'u-1', accountId: 'alice' }, 60);
      expect(await adapter('Session').findByUid('u-1')).to.deep.include({ accountId: 'alice' });
      expect(await adapter('Session').findByUid('u-2')).to.equal(undefined);
      await adapter('DeviceCode').upsert('d1', { jti: 'd1', userCode: 'ABCD-EFGH' }, 60);
      expect(await adapter('DeviceCode').findByUserCode('ABCD-EFGH')).to.deep.include({ jti: 'd1' });
    });

    it('keeps models and virtual servers apart', async () => {
      await adapter('AccessToken', 'acme').upsert('x', { jti: 'x' }, 60);
      expect(await adapter('AccessToken', 'other').find('x')).to.equal(undefined);
      expect(await adapter('RefreshToken', 'acme').find('x')).to.equal(undefined);
      expect(await adapter('AccessToken', 'acme').find('x')).to.deep.include({ jti: 'x' });
    });

    it('consume marks the payload consumed (epoch seconds); a second consume loses and revokes the grant', async () => {
      const codes = adapter('AuthorizationCode');
      await adapter('Grant').upsert('g1', { jti: 'g1', accountId: 'alice' }, 600);
      await codes.upsert('c1', { jti: 'c1', grantId: 'g1' }, 60);
      await adapter('AccessToken').upsert('at1', { jti: 'at1', grantId: 'g1' }, 600);
      await codes.consume('c1');
      expect((await codes.find('c1'))?.consumed).to.equal(Math.floor(clock.now() / 1000));
      // A re-save (oidc-provider saves models again) never un-consumes.
      await codes.upsert('c1', { jti: 'c1', grantId: 'g1' }, 60);
      expect((await codes.find('c1'))?.consumed).to.be.a('number');
      let lost: unknown;
      await codes.consume('c1').catch((err) => {
        lost = err;
      });
      expect(lost).to.be.instanceOf(AlreadyConsumed);
      expect(await adapter('Grant').find('g1')).to.equal(undefined);
      expect(await adapter('AccessToken').find('at1')).to.equal(undefined);
    });

    it('of 20 concurrent consumes exactly one wins (handles with their own pools on servers)', async () => {
      const { knex, dialect } = db();
      await adapter('Grant').upsert('g2', { jti: 'g2' }, 600);
      await adapter('RefreshToken').upsert('r1', { jti: 'r1', grantId: 'g2' }, 600);
      // SQLite: one connection, as the runtime uses; PostgreSQL/MariaDB: four pools of five in flight.
      const handles =
        dialect === 'sqlite' ? [knex] : Array.from({ length: 4 }, () => db().open({ min: 5, max: 5 }));
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) =>
          adapter('RefreshToken', 'default', handles[i % handles.length]).consume('r1'),
        ),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
      const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(rejected).to.have.length(19);
      for (const r of rejected) expect(r.reason).to.be.instanceOf(AlreadyConsumed);
      // The losers revoked the grant: every token of it is gone.
      expect(await adapter('Grant').find('g2')).to.equal(undefined);
      expect(await adapter('RefreshToken').find('r1')).to.equal(undefined);
    });

    it('ReplayDetection: of 20 concurrent lookups of one jti exactly one finds nothing; an expired one is free again', async () => {
      const { knex, dialect } = db();
      const handles =
        dialect === 'sqlite' ? [knex] : Array.from({ length: 4 }, () => db().open({ min: 5, max: 5 }));
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          adapter('ReplayDetection', 'default', handles[i % handles.length]).find('j1'),
        ),
      );
      expect(results.filter((r) => r === undefined)).to.have.length(1);
      await adapter('ReplayDetection').upsert('j1', { jti: 'j1', iss: 'client' }, 300);
      expect(await adapter('ReplayDetection').find('j1')).to.not.equal(undefined);
      expect(await adapter('ReplayDetection', 'acme').find('j1')).to.equal(undefined);
      clock.advance(300_000);
      expect(await adapter('ReplayDetection').find('j1')).to.equal(undefined);
      expect(await adapter('ReplayDetection').find('j1')).to.not.equal(undefined);
    });

    it('finds made together go out as one query and each gets its own row, model and server', async () => {
      const factory = (server: string) =>
        knexAdapterFactory({
          knex: db().knex,
          server,
          clock,
          alreadyConsumed: (model) => new AlreadyConsumed(model),
        });
      const ours = factory('default');
      await ours('AccessToken').upsert('t1', { jti: 't1', kind: 'AccessToken' }, 60);
      await ours('RefreshToken').upsert('t2', { jti: 't2', kind: 'RefreshToken' }, 60);
      await ours('Grant').upsert('t1', { jti: 't1', kind: 'Grant' }, 60);
      await factory('acme')('AccessToken').upsert('t3', { jti: 't3', kind: 'AccessToken' }, 60);
      const queries: string[] = [];
      const count = (q: { sql: string }) => queries.push(q.sql);
      db().knex.on('query', count);
      try {
        // What introspection does: the presented value under every model it could be, at once.
        const found = await Promise.all([
          ours('AccessToken').find('t1'),
          ours('ClientCredentials').find('t1'),
          ours('RefreshToken').find('t1'),
          ours('Grant').find('t1'),
          ours('AccessToken').find('t1'),
          ours('RefreshToken').find('t2'),
          ours('AccessToken').find('t3'),
        ]);
        expect(found.map((p) => p?.kind)).to.deep.equal([
          'AccessToken',
          undefined,
          undefined,
          'Grant',
          'AccessToken',
          'RefreshToken',
          undefined,
        ]);
        expect(queries).to.have.length(1);
        // Past the cap they are split, and still all answered.
        queries.length = 0;
        const many = await Promise.all(
          Array.from({ length: maxBatchKeys + 5 }, (_, i) =>
            ours('AccessToken').find(i === 0 ? 't1' : `x${i}`),
          ),
        );
        expect(many.filter(Boolean)).to.have.length(1);
        expect(queries).to.have.length(2);
      } finally {
        db().knex.off('query', count);
      }
    });

    it('revokeByGrantId removes the tokens of that grant on that server only', async () => {
      await adapter('AccessToken').upsert('a1', { jti: 'a1', grantId: 'g3' }, 600);
      await adapter('RefreshToken').upsert('r3', { jti: 'r3', grantId: 'g3' }, 600);
      await adapter('AccessToken').upsert('a2', { jti: 'a2', grantId: 'g4' }, 600);
      await adapter('AccessToken', 'acme').upsert('a3', { jti: 'a3', grantId: 'g3' }, 600);
      await adapter('AuthorizationCode').revokeByGrantId('g3');
      expect(await adapter('AccessToken').find('a1')).to.equal(undefined);
      expect(await adapter('RefreshToken').find('r3')).to.equal(undefined);
      expect(await adapter('AccessToken').find('a2')).to.deep.include({ jti: 'a2' });
      expect(await adapter('AccessToken', 'acme').find('a3')).to.deep.include({ jti: 'a3' });
    });
  });

  describe('clients', () => {
    const repo = () => createClientRepository({ knex: db().knex, secretKey, clock, random: systemRandom });

    it('adds confidential and public clients; the secret is sealed at rest and opened for oidc-provider', async () => {
      const added = await repo().add({
        server: 'default',
        clientId: 'rp',
        redirectUris: ['https://rp.example/cb'],
        name: 'RP',
      });
      expect(added.secret).to.match(/^[A-Za-z0-9_-]{43}$/);
      const row = await db().knex('idp_oidc_clients').where({ client_id: 'rp' }).first();
      expect(row.sealed_secret).to.match(/^sb1\./);
      expect(row.sealed_secret).to.not.contain(added.secret);
      expect(await clientAdapter(repo(), 'default').find('rp')).to.deep.include({
        client_id: 'rp',
        client_secret: added.secret,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        client_name: 'RP',
      });
      const pub = await repo().add({
        server: 'default',
        clientId: 'spa',
        public: true,
        redirectUris: ['http://127.0.0.1:8080/cb'],
      });
      expect(pub.secret).to.equal(undefined);
      const meta = await clientAdapter(repo(), 'default').find('spa');
      expect(meta).to.deep.include({ token_endpoint_auth_method: 'none' });
      expect(meta).to.not.have.property('client_secret');
      expect(await clientAdapter(repo(), 'acme').find('spa')).to.equal(undefined);
      expect((await repo().page('default')).clients.map((c) => c.clientId)).to.deep.equal(['rp', 'spa']);
    });

    it('refuses a duplicate id, bad redirect URIs and a public client with a secret', async () => {
      const base = { server: 'default', clientId: 'dup', redirectUris: ['https://rp.example/cb'] };
      await repo().add(base);
      let err: unknown = await repo()
        .add(base)
        .catch((e) => e);
      expect(err).to.be.instanceOf(ConflictError);
      for (const redirectUris of [
        ['https://rp.example/cb#frag'],
        ['javascript:alert(1)'],
        ['/relative'],
        [],
      ]) {
        err = await repo()
          .add({ ...base, clientId: 'bad', redirectUris })
          .catch((e) => e);
        expect(err, JSON.stringify(redirectUris)).to.have.property('name', 'ZodError');
      }
      err = await repo()
        .add({ ...base, clientId: 'bad', public: true, secret: 'a-secret-of-16-chars' })
        .catch((e) => e);
      expect(err).to.have.property('name', 'ZodError');
      expect(await repo().remove('default', 'dup')).to.equal(true);
      expect(await repo().remove('default', 'dup')).to.equal(false);
    });

    it('a failing `inside` step (the audit record) rolls add, update and remove back', async () => {
      const fail = async () => {
        throw new Error('audit unavailable');
      };
      const base = { server: 'default', clientId: 'tx', redirectUris: ['https://tx.example/cb'] };
      expect(
        await repo()
          .add(base, fail)
          .catch((e: Error) => e.message),
      ).to.equal('audit unavailable');
      expect(await repo().get('default', 'tx')).to.equal(undefined);
      await repo().add(base);
      await repo()
        .update('default', 'tx', { name: 'changed', subjectType: 'pairwise' }, fail)
        .catch(() => {});
      expect(await repo().get('default', 'tx')).to.deep.include({ name: null, subjectType: 'public' });
      await repo()
        .remove('default', 'tx', fail)
        .catch(() => {});
      expect(await repo().get('default', 'tx')).to.not.equal(undefined);
    });

    it("oidc-provider's view of a client is cached briefly; changes through the repository show at once", async () => {
      const clients = repo();
      const view = clientAdapter(clients, 'default');
      expect(await view.find('cached')).to.equal(undefined);
      // Unknown a moment ago, known once added here.
      await clients.add({ server: 'default', clientId: 'cached', redirectUris: ['https://c.example/cb'] });
      const first = await view.find('cached');
      expect(first).to.deep.include({ client_id: 'cached' });
      // What the caller does with its copy does not reach the next caller.
      (first as { redirect_uris: string[] }).redirect_uris.push('https://evil.example/cb');
      expect(await view.find('cached')).to.deep.include({ redirect_uris: ['https://c.example/cb'] });
      await clients.update('default', 'cached', { name: 'Renamed' });
      expect(await view.find('cached')).to.deep.include({ client_name: 'Renamed' });
      // A change made elsewhere (another instance) shows once the cached view is older than the TTL.
      await repo().update('default', 'cached', { name: 'Elsewhere' });
      expect(await view.find('cached')).to.deep.include({ client_name: 'Renamed' });
      clock.advance(clientMetadataTtlMs);
      expect(await view.find('cached')).to.deep.include({ client_name: 'Elsewhere' });
      await clients.remove('default', 'cached');
      expect(await view.find('cached')).to.equal(undefined);
    });

    it('concurrent updates of one client all apply, one after the other; pages by client id', async () => {
      for (const clientId of ['tx', 'a', 'b'])
        await repo().add({ server: 'default', clientId, redirectUris: ['https://tx.example/cb'] });
      const names = Array.from({ length: 6 }, (_, i) => `name-${i}`);
      const seen: string[] = [];
      const results = await Promise.all(
        names.map((name) =>
          repo().update('default', 'tx', { name }, async (c) => {
            seen.push(c.name ?? '');
          }),
        ),
      );
      expect(results.map((c) => c?.name)).to.deep.equal(names);
      expect(seen.sort()).to.deep.equal(names);
      expect(names).to.include((await repo().get('default', 'tx'))?.name);
      expect(await repo().update('default', 'nobody', { name: 'x' })).to.equal(undefined);
      const first = await repo().page('default', { limit: 1 });
      expect(first.clients.map((c) => c.clientId)).to.deep.equal(['a']);
      const rest = await repo().page('default', { limit: 5, marker: first.nextMarker ?? '' });
      expect(rest.clients.map((c) => c.clientId)).to.deep.equal(['b', 'tx']);
      expect(rest.nextMarker).to.equal(null);
    });
  });

  describe('signing keys', () => {
    const store = () => createSigningKeyStore({ knex: db().knex, secretKey, clock, retiredKeepMs: 3600_000 });

    it('concurrent first uses agree on one current and one next key per algorithm', async () => {
      await Promise.all([store().ensure('default'), store().ensure('default'), store().ensure('default')]);
      const keys = await store().list('default');
      expect(keys.map((k) => `${k.alg}:${k.state}`).sort()).to.deep.equal([
        'ES256:current',
        'ES256:next',
        'RS256:current',
        'RS256:next',
      ]);
      const row = await db().knex('idp_oidc_signing_keys').first();
      expect(row.sealed_private_jwk).to.match(/^sb1\./);
      expect(row.public_jwk).to.not.contain('"d"');
    });

    it('rotation signs with the key that was published as next; the old one stays for verification', async () => {
      await store().ensure('default');
      const before = await store().load('default');
      const next = (await store().list('default')).filter((k) => k.state === 'next').map((k) => k.kid);
      // Only current keys may sign: the others carry key_ops ['verify'].
      const signing = before.keys.filter((k) => k.key_ops === undefined).map((k) => k.kid);
      expect(signing).to.have.length(2);
      clock.advance(1000);
      const after = await store().rotate('default');
      expect(
        after
          .filter((k) => k.state === 'current')
          .map((k) => k.kid)
          .sort(),
      ).to.deep.equal([...next].sort());
      expect(
        after
          .filter((k) => k.state === 'retired')
          .map((k) => k.kid)
          .sort(),
      ).to.deep.equal([...signing].sort());
      expect(after.filter((k) => k.state === 'next')).to.have.length(2);
      const loaded = await store().load('default');
      expect(loaded.version).to.not.equal(before.version);
      expect(loaded.keys).to.have.length(6);
      // Current keys come first, RS256 before ES256: what oidc-provider picks to sign.
      expect(loaded.keys.slice(0, 2).map((k) => [k.alg, k.key_ops])).to.deep.equal([
        ['RS256', undefined],
        ['ES256', undefined],
      ]);
      // Past the keep window the retired keys leave the JWKS and the next rotation deletes them.
      clock.advance(3600_000);
      expect((await store().load('default')).keys).to.have.length(4);
      await store().rotate('default');
      expect(await db().knex('idp_oidc_signing_keys').where({ server: 'default' })).to.have.length(6);
    });

    it('a sealed key does not open under another secret key', async () => {
      await store().ensure('default');
      const other = createSigningKeyStore({
        knex: db().knex,
        secretKey: 'another-secret-key-0123456789',
        clock,
      });
      const err = await other.load('default').catch((e) => e);
      expect(err).to.have.property('code', 'secret_box_unauthentic');
    });
  });

  describe('NS login claims', () => {
    const status: NsBrowserSession = {
      state: 'loggedin',
      loggedin: true,
      userid: 'alice',
      accountid: 'acc-1',
      hsid: 'hsid-0123456789abcdef',
      createdAt: Date.UTC(2026, 0, 1),
      loggedInAt: Date.UTC(2026, 0, 1) + 5000,
      expiresAt: Date.UTC(2026, 0, 1) + 8 * 3600_000,
    };
    const ns = (s: NsBrowserSession | undefined): NsPeer => ({
      findServer: async () => ({ name: 'default', displayName: 'x' }),
      browserSessionCookieName: () => 'nextauth_ns_default',
      browserSessionStatus: async () => s,
      userActive: async () => true,
      userProfile: async () => undefined,
      activeUser: async () => ({}),
      endBrowserSession: async () => false,
      reportPinLockout: async () => {},
      authenticateApiKey: async () => undefined,
      recordAdminEvent: async () => {},
      recordIdpSessionEvent: async () => {},
      startCibaTransaction: async () => ({ ok: false, error: 'unknown_user', description: 'x' }),
      cibaTransactionStatus: async () => undefined,
    });

    it('one NS login makes exactly one IdP login, however many collect it at once', async () => {
      const collector = createNsLoginCollector({ ns: ns(status), knex: db().knex, clock });
      const outcomes = await Promise.all(
        Array.from({ length: 8 }, () => collector.collect('default', 'nonce', status.createdAt)),
      );
      const logins = outcomes.filter((o) => o.kind === 'login');
      expect(logins).to.have.length(1);
      expect(logins[0]).to.deep.equal({
        kind: 'login',
        userid: 'alice',
        accountId: 'acc-1',
        authTime: Math.floor((status.loggedInAt ?? 0) / 1000),
        amr: ['swk', 'pin'],
        acr: phonePinAcr,
      });
      for (const o of outcomes.filter((x) => x.kind !== 'login'))
        expect(o).to.deep.equal({ kind: 'refused', reason: 'login_used' });
    });

    it('refuses no cookie, unknown sessions, pending and stale logins without claiming them; reports declines', async () => {
      const collect = (
        s: NsBrowserSession | undefined,
        nonce: string | undefined,
        notBefore = status.createdAt,
      ) => createNsLoginCollector({ ns: ns(s), knex: db().knex, clock }).collect('default', nonce, notBefore);
      expect(await collect(status, undefined)).to.deep.equal({ kind: 'refused', reason: 'no_login_session' });
      expect(await collect(undefined, 'nonce')).to.deep.equal({
        kind: 'refused',
        reason: 'no_login_session',
      });
      expect(await collect({ ...status, state: 'scanned', loggedin: false }, 'nonce')).to.deep.equal({
        kind: 'refused',
        reason: 'login_pending',
        state: 'scanned',
      });
      expect(await collect({ ...status, state: 'declined', loggedin: false }, 'nonce')).to.deep.equal({
        kind: 'declined',
      });
      expect(await collect(status, 'nonce', (status.loggedInAt ?? 0) + 1)).to.deep.equal({
        kind: 'refused',
        reason: 'login_stale',
      });
      expect(await db().knex('idp_ns_login_claims')).to.have.length(0);
      expect(await collect(status, 'nonce')).to.have.property('kind', 'login');
    });
  });
});
