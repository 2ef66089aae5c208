// The OIDC storage on the KV (NEXTAUTH_OIDC_STORAGE=kv): the adapter's behaviour on the in-memory store and
// on Redis (expiry, grant membership, uid and user-code lookups, scoping, atomic consume raced over two
// clients), then a whole login — code, refresh rotation, reuse revocation — through openid-client against
// the embedded runtime storing on the KV.
import { createHash, randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { exportJWK, SignJWT } from 'jose';
import type { Context } from 'mocha';
import * as oidc from 'openid-client';
import { FixedClock } from '../../../auth-server/common/clock.js';
import type { Kv } from '../../../auth-server/common/kv/kv.js';
import { MemoryKv, MemoryStore } from '../../../auth-server/common/kv/memory.js';
import { RedisKv } from '../../../auth-server/common/kv/redis.js';
import { payloadsTable } from '../../../idp/oidc/adapter.js';
import { KvAdapter, oidcKvKeys, revokeKvGrant } from '../../../idp/oidc/kv-adapter.js';
import { deleteKeys, probeRedis } from '../../auth-server/common/kv/redis-service.js';
import { requireService } from '../../helpers/services.js';
import {
  type AuthRequest,
  authorize,
  authRequest,
  Browser,
  discover,
  type Embedded,
  Phone,
  redirectUri,
  startEmbedded,
} from './harness.js';

class AlreadyConsumed extends Error {}

interface KvPair {
  /** Two clients of one store (two connections on Redis), as two instances of the IdP would be. */
  clients: [Kv, Kv];
  close(): Promise<void>;
}

function adapterContract(name: string, open: (ctx: Context, clock: FixedClock) => Promise<KvPair>) {
  describe(`idp/oidc KV adapter on ${name}`, () => {
    let clock: FixedClock;
    let pair: KvPair;
    const adapter = (model: string, server = 'default', client = 0) =>
      new KvAdapter(model, {
        kv: pair.clients[client as 0 | 1],
        server,
        clock,
        alreadyConsumed: () => new AlreadyConsumed(model),
      });

    beforeEach(async function () {
      clock = new FixedClock(Date.UTC(2026, 0, 1));
      pair = await open(this, clock);
    });
    afterEach(() => pair?.close());

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

    it('forgets a payload once it expired by the clock (the KV drops the key with its TTL too)', async () => {
      const tokens = adapter('AccessToken');
      await tokens.upsert('t1', { jti: 't1' }, 10);
      await tokens.upsert('t2', { jti: 't2' });
      clock.advance(9_999);
      expect(await tokens.find('t1')).to.deep.include({ jti: 't1' });
      clock.advance(1);
      expect(await tokens.find('t1')).to.equal(undefined);
      expect(await tokens.find('t2')).to.deep.include({ jti: 't2' });
    });

    it('finds sessions by uid and device codes by user code, never through a stale index entry', async () => {
      const sessions = adapter('Session');
      await sessions.upsert('s1', { jti: 's1', uid: 'u-1', accountId: 'alice' }, 60);
      expect(await sessions.findByUid('u-1')).to.deep.include({ accountId: 'alice' });
      expect(await sessions.findByUid('u-2')).to.equal(undefined);
      // Saved again under another uid: the old uid no longer leads to it.
      await sessions.upsert('s1', { jti: 's1', uid: 'u-3', accountId: 'alice' }, 60);
      expect(await sessions.findByUid('u-1')).to.equal(undefined);
      expect(await sessions.findByUid('u-3')).to.deep.include({ jti: 's1' });
      await sessions.destroy('s1');
      expect(await sessions.findByUid('u-3')).to.equal(undefined);
      await adapter('DeviceCode').upsert('d1', { jti: 'd1', userCode: 'ABCD-EFGH' }, 60);
      expect(await adapter('DeviceCode').findByUserCode('ABCD-EFGH')).to.deep.include({ jti: 'd1' });
      expect(await adapter('DeviceCode').findByUserCode('ABCD-XXXX')).to.equal(undefined);
    });

    it('keeps models and virtual servers apart, and an id cannot reach another kind of key', async () => {
      await adapter('AccessToken', 'acme').upsert('x', { jti: 'x' }, 60);
      expect(await adapter('AccessToken', 'other').find('x')).to.equal(undefined);
      expect(await adapter('RefreshToken', 'acme').find('x')).to.equal(undefined);
      expect(await adapter('AccessToken', 'acme').find('x')).to.deep.include({ jti: 'x' });
      await adapter('RefreshToken').upsert('r', { jti: 'r', grantId: 'g' }, 60);
      await adapter('RefreshToken').consume('r');
      // The grant index lives in another namespace than the Grant payload of the same id.
      expect(await adapter('Grant').find('g')).to.equal(undefined);
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
      const lost = await codes.consume('c1').catch((err: unknown) => err);
      expect(lost).to.be.instanceOf(AlreadyConsumed);
      expect(await adapter('Grant').find('g1')).to.equal(undefined);
      expect(await adapter('AccessToken').find('at1')).to.equal(undefined);
      expect(await codes.find('c1')).to.equal(undefined);
    });

    it('a consume that read the code just before a revocation deleted it still loses (the marker stays)', async () => {
      const codes = adapter('AuthorizationCode');
      await adapter('Grant').upsert('g9', { jti: 'g9', accountId: 'alice' }, 600);
      await codes.upsert('c9', { jti: 'c9', grantId: 'g9' }, 60);
      const payloadKey = oidcKvKeys('default').payload('AuthorizationCode', 'c9');
      const [kv] = pair.clients;
      const snapshot = await kv.get(payloadKey);
      await codes.consume('c9');
      // Another request lost meanwhile and revoked the grant, deleting the code's payload.
      await revokeKvGrant(kv, 'default', 'g9');
      // A third request read the payload before that delete: it must not find the way to a second win.
      const stale = new Proxy(kv, {
        get(target, prop) {
          if (prop === 'get') return async (key: string) => (key === payloadKey ? snapshot : target.get(key));
          const value: unknown = Reflect.get(target, prop, target);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      const late = new KvAdapter('AuthorizationCode', {
        kv: stale,
        server: 'default',
        clock,
        alreadyConsumed: () => new AlreadyConsumed('AuthorizationCode'),
      });
      expect(await late.consume('c9').catch((err: unknown) => err)).to.be.instanceOf(AlreadyConsumed);
    });

    it('consume of an unknown or expired payload loses without touching anything else', async () => {
      await adapter('Grant').upsert('g5', { jti: 'g5' }, 600);
      await adapter('AuthorizationCode').upsert('c5', { jti: 'c5', grantId: 'g5' }, 1);
      expect(
        await adapter('AuthorizationCode')
          .consume('nope')
          .catch((e: unknown) => e),
      ).to.be.instanceOf(AlreadyConsumed);
      expect(await adapter('Grant').find('g5')).to.deep.include({ jti: 'g5' });
      clock.advance(1000);
      expect(
        await adapter('AuthorizationCode')
          .consume('c5')
          .catch((e: unknown) => e),
      ).to.be.instanceOf(AlreadyConsumed);
      // The expired payload is not read, so its grant is not known: nothing is revoked.
      expect(await adapter('Grant').find('g5')).to.deep.include({ jti: 'g5' });
    });

    it('a consumed payload saved again with a later expiry stays consumed until it expires', async () => {
      const tokens = adapter('RefreshToken');
      await tokens.upsert('r8', { jti: 'r8' }, 10);
      await tokens.consume('r8');
      await tokens.upsert('r8', { jti: 'r8' }, 100);
      clock.advance(50_000);
      expect((await tokens.find('r8'))?.consumed).to.be.a('number');
    });

    it('a payload that arrives consumed stays consumed', async () => {
      await adapter('RefreshToken').upsert('r9', { jti: 'r9', consumed: 1_700_000_000 }, 60);
      expect((await adapter('RefreshToken').find('r9'))?.consumed).to.equal(1_700_000_000);
      expect(
        await adapter('RefreshToken')
          .consume('r9')
          .catch((e: unknown) => e),
      ).to.be.instanceOf(AlreadyConsumed);
    });

    it('of 20 concurrent consumes over two clients exactly one wins; the losers revoke the grant', async () => {
      await adapter('Grant').upsert('g2', { jti: 'g2' }, 600);
      await adapter('RefreshToken').upsert('r1', { jti: 'r1', grantId: 'g2' }, 600);
      await adapter('AccessToken').upsert('a1', { jti: 'a1', grantId: 'g2' }, 600);
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) => adapter('RefreshToken', 'default', i % 2).consume('r1')),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
      const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(rejected).to.have.length(19);
      for (const r of rejected) expect(r.reason).to.be.instanceOf(AlreadyConsumed);
      for (const client of [0, 1]) {
        expect(await adapter('Grant', 'default', client).find('g2')).to.equal(undefined);
        expect(await adapter('RefreshToken', 'default', client).find('r1')).to.equal(undefined);
        expect(await adapter('AccessToken', 'default', client).find('a1')).to.equal(undefined);
      }
    });

    it('ReplayDetection: of 20 concurrent lookups of one jti over two clients exactly one finds nothing', async () => {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => adapter('ReplayDetection', 'default', i % 2).find('j1')),
      );
      expect(results.filter((r) => r === undefined)).to.have.length(1);
      // oidc-provider's save follows and replaces the placeholder; the jti stays taken until it expires.
      await adapter('ReplayDetection').upsert('j1', { jti: 'j1', iss: 'client' }, 300);
      expect(await adapter('ReplayDetection', 'default', 1).find('j1')).to.not.equal(undefined);
      expect(await adapter('ReplayDetection', 'acme').find('j1')).to.equal(undefined);
    });

    it('revokeByGrantId removes the tokens of that grant on that server only, whatever their model', async () => {
      await adapter('AccessToken').upsert('a1', { jti: 'a1', grantId: 'g3' }, 600);
      await adapter('RefreshToken').upsert('r3', { jti: 'r3', grantId: 'g3' }, 600);
      await adapter('AuthorizationCode').upsert('c3', { jti: 'c3', grantId: 'g3' }, 60);
      await adapter('AccessToken').upsert('a2', { jti: 'a2', grantId: 'g4' }, 600);
      await adapter('AccessToken', 'acme').upsert('a3', { jti: 'a3', grantId: 'g3' }, 600);
      // Not a grant's token (a Session carries no grant membership).
      await adapter('Session').upsert('s3', { jti: 's3', uid: 'u3', grantId: 'g3' }, 600);
      await adapter('AuthorizationCode', 'default', 1).revokeByGrantId('g3');
      expect(await adapter('AccessToken').find('a1')).to.equal(undefined);
      expect(await adapter('RefreshToken').find('r3')).to.equal(undefined);
      expect(await adapter('AuthorizationCode').find('c3')).to.equal(undefined);
      expect(await adapter('AccessToken').find('a2')).to.deep.include({ jti: 'a2' });
      expect(await adapter('AccessToken', 'acme').find('a3')).to.deep.include({ jti: 'a3' });
      expect(await adapter('Session').find('s3')).to.deep.include({ jti: 's3' });
      // Tokens saved after a revocation are found by the next one.
      await adapter('AccessToken').upsert('a4', { jti: 'a4', grantId: 'g3' }, 600);
      await adapter('AccessToken').revokeByGrantId('g3');
      expect(await adapter('AccessToken').find('a4')).to.equal(undefined);
    });

    it('sets TTLs from expiresIn: the grant index lives as long as its longest token', async () => {
      const kv = pair.clients[0];
      const keys = oidcKvKeys('default');
      await adapter('AccessToken').upsert('a1', { jti: 'a1', grantId: 'g6' }, 600);
      await adapter('AuthorizationCode').upsert('c1', { jti: 'c1', grantId: 'g6' }, 60);
      expect(await kv.setMembers(keys.grant('g6'))).to.have.members([
        'AccessToken:a1',
        'AuthorizationCode:c1',
      ]);
      expect(JSON.parse((await kv.get(keys.payload('AccessToken', 'a1'))) ?? '{}')).to.deep.equal({
        p: { jti: 'a1', grantId: 'g6' },
        e: clock.now() + 600_000,
      });
    });
  });
}

adapterContract('the in-memory KV', async (_ctx, clock) => {
  const store = new MemoryStore({ clock });
  const clients: [Kv, Kv] = [new MemoryKv({ store, prefix: 'a:' }), new MemoryKv({ store, prefix: 'a:' })];
  return {
    clients,
    close: async () => {
      await Promise.all(clients.map((c) => c.close()));
      store.close();
    },
  };
});

adapterContract('Redis', async (ctx) => {
  const uri = await requireService(ctx, 'redis', probeRedis);
  const prefix = `nextauth-test-oidckv:${randomBytes(6).toString('hex')}:`;
  const clients: [Kv, Kv] = [new RedisKv(uri, { prefix }), new RedisKv(uri, { prefix })];
  return {
    clients,
    close: async () => {
      await Promise.all(clients.map((c) => c.close()));
      await deleteKeys(uri, prefix);
    },
  };
});

function endToEnd(
  name: string,
  env: (ctx: Context) => Promise<{ env: Record<string, string>; cleanup?(): Promise<void> }>,
) {
  describe(`idp/oidc: a login with NEXTAUTH_OIDC_STORAGE=kv on ${name}`, function () {
    this.timeout(60_000);
    let e: Embedded;
    let webapp: oidc.Configuration;
    let secret: string;
    let alice: Phone;
    let cleanup: (() => Promise<void>) | undefined;

    before(async function () {
      const settings = await env(this);
      cleanup = settings.cleanup;
      e = await startEmbedded({ env: { NEXTAUTH_OIDC_STORAGE: 'kv', ...settings.env } });
      secret = (await e.addClient({ clientId: 'webapp', redirectUris: [redirectUri] })).secret ?? '';
      webapp = await discover(e.issuer, 'webapp', secret);
      alice = await Phone.open(e.url);
      await alice.enrol(e.url, 'alice');
    });
    after(async () => {
      await e?.close();
      await cleanup?.();
    });

    const exchange = (callback: URL, request: AuthRequest) =>
      oidc.authorizationCodeGrant(webapp, callback, {
        pkceCodeVerifier: request.verifier,
        expectedNonce: request.nonce,
        expectedState: request.state,
        idTokenExpected: true,
      });
    const userinfo = (accessToken: string) =>
      fetch(webapp.serverMetadata().userinfo_endpoint ?? '', {
        headers: { authorization: `Bearer ${accessToken}` },
      });
    const redeem = (code: string, request: AuthRequest) =>
      fetch(webapp.serverMetadata().token_endpoint ?? '', {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`webapp:${secret}`).toString('base64')}`,
        },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code,
          redirect_uri: redirectUri,
          code_verifier: request.verifier,
        }),
      });

    it('code flow, userinfo, SSO, refresh rotation, and reuse of a rotated refresh token revokes the grant', async () => {
      const b = new Browser(e.url);
      const request = await authRequest(webapp, { scope: 'openid offline_access' });
      const tokens = await exchange(await authorize(b, request, alice), request);
      expect(tokens.claims()).to.include({ sub: 'alice', aud: 'webapp' });
      expect(await oidc.fetchUserInfo(webapp, tokens.access_token, 'alice')).to.deep.equal({ sub: 'alice' });
      // The IdP session lives on the KV too: the next authorization needs no phone.
      const again = await authRequest(webapp);
      expect((await exchange(await authorize(b, again), again)).claims()?.sub).to.equal('alice');

      const first = tokens.refresh_token ?? '';
      const refreshed = await oidc.refreshTokenGrant(webapp, first);
      expect(refreshed.refresh_token).to.be.a('string').and.not.equal(first);
      expect((await userinfo(refreshed.access_token)).status).to.equal(200);
      const reuse = await oidc.refreshTokenGrant(webapp, first).catch((err: unknown) => err);
      expect(reuse).to.include({ error: 'invalid_grant', status: 400 });
      const rotated = await oidc.refreshTokenGrant(webapp, refreshed.refresh_token ?? '').catch((err) => err);
      expect(rotated).to.include({ error: 'invalid_grant' });
      expect((await userinfo(refreshed.access_token)).status).to.equal(401);
      // Nothing of it went to the IdP database.
      const rows = await e.runtime.dbs.idp?.(payloadsTable).count({ n: '*' });
      expect(Number(rows?.[0]?.n)).to.equal(0);
    });

    it('a code redeemed twice: the second gets invalid_grant and the first one’s tokens stop working', async () => {
      const request = await authRequest(webapp, { scope: 'openid offline_access' });
      const code = (await authorize(new Browser(e.url), request, alice)).searchParams.get('code') ?? '';
      const first = await redeem(code, request);
      expect(first.status).to.equal(200);
      const tokens = (await first.json()) as { access_token: string; refresh_token: string };
      expect((await userinfo(tokens.access_token)).status).to.equal(200);
      const second = await redeem(code, request);
      expect(second.status).to.equal(400);
      expect(await second.json()).to.include({ error: 'invalid_grant' });
      expect((await userinfo(tokens.access_token)).status).to.equal(401);
      expect(await oidc.refreshTokenGrant(webapp, tokens.refresh_token).catch((err) => err)).to.include({
        error: 'invalid_grant',
      });
    });

    it('DPoP: the jti of a proof is remembered on the KV, and of 10 concurrent uses exactly one passes', async () => {
      const key = await oidc.randomDPoPKeyPair('ES256');
      const request = await authRequest(webapp);
      const tokens = await oidc.authorizationCodeGrant(
        webapp,
        await authorize(new Browser(e.url), request, alice),
        { pkceCodeVerifier: request.verifier, expectedNonce: request.nonce, expectedState: request.state },
        undefined,
        { DPoP: oidc.getDPoPHandle(webapp, key) },
      );
      expect(tokens.token_type).to.equal('dpop');
      const url = webapp.serverMetadata().userinfo_endpoint ?? '';
      const proof = await new SignJWT({
        htm: 'GET',
        htu: url,
        jti: randomBytes(16).toString('hex'),
        ath: createHash('sha256').update(tokens.access_token).digest('base64url'),
      })
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: await exportJWK(key.publicKey) })
        .setIssuedAt()
        .sign(key.privateKey);
      const responses = await Promise.all(
        Array.from({ length: 10 }, () =>
          fetch(url, { headers: { authorization: `DPoP ${tokens.access_token}`, dpop: proof } }),
        ),
      );
      expect(responses.map((r) => r.status).sort()).to.deep.equal([200, ...Array(9).fill(401)]);
    });

    it('of 10 concurrent redemptions of one code exactly one gets tokens, and they are revoked', async () => {
      const request = await authRequest(webapp);
      const code = (await authorize(new Browser(e.url), request, alice)).searchParams.get('code') ?? '';
      const responses = await Promise.all(Array.from({ length: 10 }, () => redeem(code, request)));
      const bodies = await Promise.all(responses.map((r) => r.json() as Promise<Record<string, string>>));
      expect(responses.filter((r) => r.status === 200)).to.have.length(1);
      for (const [i, body] of bodies.entries()) {
        if (responses[i]?.status !== 200) expect(body.error).to.equal('invalid_grant');
      }
      const winner = bodies.find((_, i) => responses[i]?.status === 200);
      expect((await userinfo(winner?.access_token ?? '')).status).to.equal(401);
    });
  });
}

endToEnd('the in-memory KV', async () => ({ env: {} }));

endToEnd('Redis', async (ctx) => {
  const uri = await requireService(ctx, 'redis', probeRedis);
  const prefix = `nextauth-test-oidckv-e2e:${randomBytes(6).toString('hex')}:`;
  return {
    env: { NEXTAUTH_KV_URI: uri, NEXTAUTH_KV_PREFIX: prefix },
    cleanup: () => deleteKeys(uri, prefix),
  };
});
