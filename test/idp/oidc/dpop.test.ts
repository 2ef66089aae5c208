// DPoP (RFC 9449) with openid-client as the RP: tokens bound to the client's key (`token_type: DPoP`,
// `cnf.jkt`) work at userinfo only with a fresh proof of that key — never as Bearer tokens, never with
// another key, another URL or method, or a proof used before; the token endpoint wants a server nonce; a
// public client's refresh token is bound to the key; RFC 9068 JWT access tokens carry the binding too.
import { createHash, randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { calculateJwkThumbprint, createRemoteJWKSet, exportJWK, jwtVerify, SignJWT } from 'jose';
import * as oidc from 'openid-client';
import { oidcCookieKeys, oidcDpopNonceSecret } from '../../../idp/oidc/provider.js';
import {
  authorize,
  authRequest,
  Browser,
  discover,
  type Embedded,
  Phone,
  redirectUri,
  startEmbedded,
} from './harness.js';

const api = 'https://api.example.test/orders';

type KeyPair = Awaited<ReturnType<typeof oidc.randomDPoPKeyPair>>;

/** A DPoP proof made by hand, for the cases openid-client would never produce. */
async function proof(
  key: KeyPair,
  htm: string,
  htu: string,
  claims: { ath?: string; nonce?: string; jti?: string } = {},
): Promise<string> {
  return new SignJWT({ htm, htu, jti: claims.jti ?? randomUUID(), ...claims })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: await exportJWK(key.publicKey) })
    .setIssuedAt()
    .sign(key.privateKey);
}

const ath = (accessToken: string) => createHash('sha256').update(accessToken).digest('base64url');
const thumbprint = async (key: KeyPair) => calculateJwkThumbprint(await exportJWK(key.publicKey));

describe('idp/oidc: DPoP', function () {
  this.timeout(60_000);
  let e: Embedded;
  let webapp: oidc.Configuration;
  let spa: oidc.Configuration;
  let service: oidc.Configuration;
  let alice: Phone;
  let key: KeyPair;
  let otherKey: KeyPair;

  before(async () => {
    e = await startEmbedded({ env: { NEXTAUTH_OIDC_RESOURCES: api } });
    const secret = (await e.addClient({ clientId: 'webapp', redirectUris: [redirectUri] })).secret;
    webapp = await discover(e.issuer, 'webapp', secret);
    await e.addClient({ clientId: 'spa', public: true, redirectUris: [redirectUri] });
    spa = await discover(e.issuer, 'spa');
    const serviceSecret = (await e.addClient({ clientId: 'service', grantTypes: ['client_credentials'] }))
      .secret;
    service = await discover(e.issuer, 'service', serviceSecret);
    alice = await Phone.open(e.url);
    await alice.enrol(e.url, 'alice');
    key = await oidc.randomDPoPKeyPair('ES256');
    otherKey = await oidc.randomDPoPKeyPair('ES256');
  });
  after(() => e?.close());

  const userinfoUrl = () => webapp.serverMetadata().userinfo_endpoint ?? '';
  const tokenUrl = () => webapp.serverMetadata().token_endpoint ?? '';
  const userinfo = (authorization: string, dpop?: string) =>
    fetch(userinfoUrl(), { headers: { authorization, ...(dpop !== undefined && { dpop }) } });

  /** A login through the QR page whose code is redeemed with DPoP proofs of `dpopKey`. */
  const login = async (config: oidc.Configuration, dpopKey: KeyPair, scope = 'openid') => {
    const request = await authRequest(config, { scope });
    const callback = await authorize(new Browser(e.url), request, alice);
    return oidc.authorizationCodeGrant(
      config,
      callback,
      { pkceCodeVerifier: request.verifier, expectedNonce: request.nonce, expectedState: request.state },
      undefined,
      { DPoP: oidc.getDPoPHandle(config, dpopKey) },
    );
  };

  it('discovery announces DPoP with asymmetric algorithms only', () => {
    const algs = webapp.serverMetadata().dpop_signing_alg_values_supported;
    expect(algs).to.include('ES256');
    expect(algs).to.not.include('HS256');
    expect(algs).to.not.include('none');
  });

  describe('a DPoP-bound access token', () => {
    let accessToken: string;

    before(async () => {
      const tokens = await login(webapp, key);
      expect(tokens.token_type).to.equal('dpop');
      accessToken = tokens.access_token;
    });

    it('is bound to the key (cnf.jkt) and works at userinfo with a proof of it', async () => {
      const introspected = await oidc.tokenIntrospection(webapp, accessToken);
      expect(introspected).to.include({ active: true, token_type: 'DPoP' });
      expect(introspected.cnf).to.deep.equal({ jkt: await thumbprint(key) });
      const claims = await oidc.fetchUserInfo(webapp, accessToken, 'alice', {
        DPoP: oidc.getDPoPHandle(webapp, key),
      });
      expect(claims).to.deep.equal({ sub: 'alice' });
    });

    it('is refused as a Bearer token, and as a DPoP token without a proof', async () => {
      const bearer = await userinfo(`Bearer ${accessToken}`);
      expect(bearer.status).to.equal(401);
      expect(bearer.headers.get('www-authenticate')).to.match(/invalid_token/);
      const noProof = await userinfo(`DPoP ${accessToken}`);
      expect(noProof.status).to.equal(400);
      expect(await noProof.json()).to.include({ error: 'invalid_request' });
      // With a fresh proof it still works: the refusals changed nothing.
      const ok = await userinfo(
        `DPoP ${accessToken}`,
        await proof(key, 'GET', userinfoUrl(), { ath: ath(accessToken) }),
      );
      expect(ok.status).to.equal(200);
    });

    it('refuses a proof made with another key', async () => {
      const viaClient = await oidc
        .fetchUserInfo(webapp, accessToken, 'alice', { DPoP: oidc.getDPoPHandle(webapp, otherKey) })
        .catch((err: unknown) => err);
      expect(viaClient).to.be.instanceOf(oidc.WWWAuthenticateChallengeError);
      expect(viaClient).to.have.property('status', 401);
      const res = await userinfo(
        `DPoP ${accessToken}`,
        await proof(otherKey, 'GET', userinfoUrl(), { ath: ath(accessToken) }),
      );
      expect(res.status).to.equal(401);
    });

    it('refuses a proof for another URL, another method, or another access token', async () => {
      for (const bad of [
        await proof(key, 'GET', tokenUrl(), { ath: ath(accessToken) }),
        await proof(key, 'GET', `${e.url}/oidc/other/me`, { ath: ath(accessToken) }),
        await proof(key, 'POST', userinfoUrl(), { ath: ath(accessToken) }),
        await proof(key, 'GET', userinfoUrl(), { ath: ath('another-token') }),
        await proof(key, 'GET', userinfoUrl()),
      ]) {
        const res = await userinfo(`DPoP ${accessToken}`, bad);
        expect(res.status).to.equal(401);
        expect(res.headers.get('www-authenticate')).to.match(/^DPoP .*error="invalid_dpop_proof"/);
      }
    });

    it('refuses a proof used a second time (jti replay)', async () => {
      const once = await proof(key, 'GET', userinfoUrl(), { ath: ath(accessToken) });
      expect((await userinfo(`DPoP ${accessToken}`, once)).status).to.equal(200);
      const again = await userinfo(`DPoP ${accessToken}`, once);
      expect(again.status).to.equal(401);
      expect(again.headers.get('www-authenticate')).to.match(/error="invalid_token"/);
    });

    it('of 10 concurrent uses of one proof exactly one passes', async () => {
      const once = await proof(key, 'GET', userinfoUrl(), { ath: ath(accessToken) });
      const responses = await Promise.all(
        Array.from({ length: 10 }, () => userinfo(`DPoP ${accessToken}`, once)),
      );
      expect(responses.map((r) => r.status).sort()).to.deep.equal([200, ...Array(9).fill(401)]);
    });
  });

  describe('the token endpoint', () => {
    const clientCredentials = (dpop: string) =>
      fetch(tokenUrl(), {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`service:${service.clientMetadata().client_secret}`).toString('base64')}`,
          dpop,
        },
        body: new URLSearchParams({ grant_type: 'client_credentials' }),
      });

    it('asks for a server nonce, and takes a proof carrying the nonce it gave', async () => {
      const first = await clientCredentials(await proof(key, 'POST', tokenUrl()));
      expect(first.status).to.equal(400);
      expect(await first.json()).to.include({ error: 'use_dpop_nonce' });
      const nonce = first.headers.get('dpop-nonce') ?? '';
      expect(nonce).to.match(/^[A-Za-z0-9_-]{43}$/);
      const madeUp = await clientCredentials(await proof(key, 'POST', tokenUrl(), { nonce: 'A'.repeat(43) }));
      expect(madeUp.status).to.equal(400);
      expect(await madeUp.json()).to.include({ error: 'use_dpop_nonce' });
      const second = await clientCredentials(await proof(key, 'POST', tokenUrl(), { nonce }));
      expect(second.status).to.equal(200);
      expect(await second.json()).to.include({ token_type: 'DPoP' });
    });

    it('a public client’s refresh token works only with proofs of the key it was issued to', async () => {
      const tokens = await login(spa, key, 'openid offline_access');
      const refreshToken = tokens.refresh_token ?? '';
      expect(refreshToken).to.not.equal('');
      const wrongKey = await oidc
        .refreshTokenGrant(spa, refreshToken, undefined, { DPoP: oidc.getDPoPHandle(spa, otherKey) })
        .catch((err: unknown) => err);
      expect(wrongKey).to.include({ error: 'invalid_grant', status: 400 });
      const noProof = await oidc.refreshTokenGrant(spa, refreshToken).catch((err: unknown) => err);
      expect(noProof).to.include({ error: 'invalid_grant', status: 400 });
      // Neither attempt used the refresh token up: the key holder still can.
      const refreshed = await oidc.refreshTokenGrant(spa, refreshToken, undefined, {
        DPoP: oidc.getDPoPHandle(spa, key),
      });
      expect(refreshed.token_type).to.equal('dpop');
      expect(refreshed.refresh_token).to.be.a('string').and.not.equal(refreshToken);
    });

    it('a code bound to a key at authorization (dpop_jkt) is redeemed only with proofs of that key', async () => {
      const boundCode = async () => {
        const request = await authRequest(webapp, { dpop_jkt: await thumbprint(key) });
        const callback = await authorize(new Browser(e.url), request, alice);
        const checks = {
          pkceCodeVerifier: request.verifier,
          expectedNonce: request.nonce,
          expectedState: request.state,
        };
        return (dpopKey: KeyPair) =>
          oidc.authorizationCodeGrant(webapp, callback, checks, undefined, {
            DPoP: oidc.getDPoPHandle(webapp, dpopKey),
          });
      };
      expect((await (await boundCode())(key)).token_type).to.equal('dpop');
      // Whoever holds a stolen code but not the key burns it: oidc-provider consumes the code first.
      const redeem = await boundCode();
      expect(await redeem(otherKey).catch((err: unknown) => err)).to.include({ error: 'invalid_grant' });
      expect(await redeem(key).catch((err: unknown) => err)).to.include({ error: 'invalid_grant' });
    });

    it('a JWT access token (RFC 9068) for a resource server carries the binding (cnf.jkt)', async () => {
      const tokens = await oidc.clientCredentialsGrant(
        service,
        { resource: api },
        { DPoP: oidc.getDPoPHandle(service, key) },
      );
      expect(tokens.token_type).to.equal('dpop');
      const jwks = createRemoteJWKSet(new URL(webapp.serverMetadata().jwks_uri ?? ''));
      const { payload } = await jwtVerify(tokens.access_token, jwks, {
        issuer: e.issuer,
        audience: api,
        typ: 'at+jwt',
      });
      expect(payload).to.include({ client_id: 'service', sub: 'service' });
      expect(payload.cnf).to.deep.equal({ jkt: await thumbprint(key) });
    });
  });

  it('the nonce secret is per server and apart from the cookie keys', () => {
    const secret = 'dpop-test-secret-key-0123456789';
    const a = oidcDpopNonceSecret(secret, 'default');
    expect(a).to.have.length(32);
    expect(a.equals(oidcDpopNonceSecret(secret, 'acme'))).to.equal(false);
    expect(a.toString('base64url')).to.not.equal(oidcCookieKeys(secret, 'default')[0]);
  });
});
