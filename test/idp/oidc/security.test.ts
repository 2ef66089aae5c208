// Rejections from the issue's security list not covered by rejections.test.ts: an expired authorization
// code, request objects that are unsigned (`alg: none`) or signed HS256 with a public key, and oversized
// parameters — each refused with a clear error and nothing stored.
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { expect } from 'chai';
import { SignJWT } from 'jose';
import * as oidc from 'openid-client';
import { payloadsTable } from '../../../idp/oidc/adapter.js';
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

/** Real time plus an offset the test moves: the IdP's storage sees the code expire. */
const clock = { offset: 0, now: () => Date.now() + clock.offset };

describe('idp/oidc: expired codes, request objects, oversized parameters', function () {
  this.timeout(60_000);
  let e: Embedded;
  let webapp: oidc.Configuration;
  let secret: string;
  let alice: Phone;

  before(async () => {
    e = await startEmbedded({ clock });
    secret = (await e.addClient({ clientId: 'webapp', redirectUris: [redirectUri] })).secret ?? '';
    await e.addClient({ clientId: 'spa', public: true, redirectUris: [redirectUri] });
    webapp = await discover(e.issuer, 'webapp', secret);
    alice = await Phone.open(e.url);
    await alice.enrol(e.url, 'alice');
  });
  afterEach(() => {
    clock.offset = 0;
  });
  after(() => e?.close());

  const m = () => webapp.serverMetadata();
  const stored = async () =>
    Number((await e.runtime.dbs.idp?.(payloadsTable).count({ n: '*' }))?.[0]?.n ?? 0);
  const redeem = (code: string, verifier: string) =>
    fetch(m().token_endpoint ?? '', {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`webapp:${secret}`).toString('base64')}`,
      },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: redirectUri,
        code_verifier: verifier,
      }),
    });

  describe('expired authorization codes', () => {
    const freshCode = async () => {
      const request = await authRequest(webapp);
      const callback = await authorize(new Browser(e.url), request, alice);
      return { code: callback.searchParams.get('code') ?? '', request };
    };

    it('a code redeemed within its 60 s works', async () => {
      const { code, request } = await freshCode();
      clock.offset = 59_000;
      expect((await redeem(code, request.verifier)).status).to.equal(200);
    });

    it('a code older than 60 s is invalid_grant, and it was not consumed by the attempt', async () => {
      const { code, request } = await freshCode();
      clock.offset = 61_000;
      const late = await redeem(code, request.verifier);
      expect(late.status).to.equal(400);
      expect(await late.json()).to.include({ error: 'invalid_grant' });
      const rows = await e.runtime.dbs.idp?.(payloadsTable).where({ model: 'AuthorizationCode', id: code });
      expect(rows).to.have.length(1);
      expect(rows?.[0]?.consumed_at).to.equal(null);
    });
  });

  describe('request objects', () => {
    const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const claims = (clientId: string, state: string) => ({
      iss: clientId,
      aud: e.issuer,
      client_id: clientId,
      response_type: 'code',
      redirect_uri: redirectUri,
      scope: 'openid',
      state,
      nonce: 'n-0123456789',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
    });
    /** Sends `request` for `clientId`; where the browser ends up: the RP (with error or code) or a page. */
    const send = async (clientId: string, request: string) => {
      const url = `${m().authorization_endpoint}?${new URLSearchParams({
        client_id: clientId,
        response_type: 'code',
        scope: 'openid',
        request,
      })}`;
      return new Browser(e.url).navigate(url);
    };
    const refused = async (clientId: string, request: string, description: RegExp) => {
      const before = await stored();
      const { res, leftTo } = await send(clientId, request);
      expect(leftTo, 'an error at the RP').to.be.a('string');
      const callback = new URL(leftTo ?? '');
      expect(callback.origin + callback.pathname).to.equal(redirectUri);
      expect(callback.searchParams.get('error')).to.equal('invalid_request_object');
      expect(callback.searchParams.get('error_description')).to.match(description);
      expect(callback.searchParams.get('code')).to.equal(null);
      expect(res.status).to.be.within(300, 399);
      expect(await stored()).to.equal(before);
    };

    it('discovery: request objects signed with HS256 (client secret) or asymmetric keys, never none', () => {
      expect(m().request_parameter_supported).to.equal(true);
      expect(m().request_object_signing_alg_values_supported).to.have.members([
        'HS256',
        'RS256',
        'PS256',
        'ES256',
      ]);
    });

    it('an HS256 request object signed with the client secret logs in like plain parameters', async () => {
      const verifier = 'v'.repeat(43);
      const jwt = await new SignJWT({
        ...claims('webapp', 'jar-state'),
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(secret));
      const url = new URL(
        `${m().authorization_endpoint}?${new URLSearchParams({
          client_id: 'webapp',
          response_type: 'code',
          scope: 'openid',
          request: jwt,
        })}`,
      );
      const request = { url, verifier, nonce: 'n-0123456789', state: 'jar-state' };
      const callback = await authorize(new Browser(e.url), request, alice);
      expect(callback.searchParams.get('state')).to.equal('jar-state');
      const tokens = await oidc.authorizationCodeGrant(webapp, callback, {
        pkceCodeVerifier: verifier,
        expectedState: 'jar-state',
        expectedNonce: 'n-0123456789',
      });
      expect(tokens.claims()?.sub).to.equal('alice');
    });

    it('alg none is refused', async () => {
      const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims('webapp', 's-none'))}.`;
      await refused('webapp', unsigned, /unsupported signed request alg/);
    });

    it("HS256 keyed with the OP's public key (PEM or JWK, the algorithm confusion attack) is refused", async () => {
      const { keys } = (await (await fetch(m().jwks_uri ?? '')).json()) as {
        keys: (Record<string, string> & { alg: string })[];
      };
      const rsa = keys.find((k) => k.alg === 'RS256');
      const pem = createPublicKey({ key: rsa as never, format: 'jwk' }).export({
        type: 'spki',
        format: 'pem',
      });
      for (const key of [String(pem), JSON.stringify(rsa)]) {
        const jwt = await new SignJWT(claims('webapp', 's-hs'))
          .setProtectedHeader({ alg: 'HS256', kid: rsa?.kid ?? '' })
          .sign(new TextEncoder().encode(key));
        await refused('webapp', jwt, /could not validate Request Object/);
      }
    });

    it('a public client (no secret) cannot send HS256 request objects; unknown RS256 keys are refused', async () => {
      const hs = await new SignJWT(claims('spa', 's-spa'))
        .setProtectedHeader({ alg: 'HS256' })
        .sign(new TextEncoder().encode('spa'));
      await refused('spa', hs, /could not validate Request Object/);
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const rs = await new SignJWT(claims('webapp', 's-rs'))
        .setProtectedHeader({ alg: 'RS256' })
        .sign(privateKey);
      await refused('webapp', rs, /could not validate Request Object/);
    });
  });

  describe('oversized parameters', () => {
    const authorizeUrl = (params: Record<string, string>) =>
      `${m().authorization_endpoint}?${new URLSearchParams({
        client_id: 'webapp',
        response_type: 'code',
        scope: 'openid',
        redirect_uri: redirectUri,
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
        ...params,
      })}`;
    const errorPage = async (url: string, description: RegExp, status = 400) => {
      const before = await stored();
      const res = await new Browser(e.url).fetch(url);
      expect(res.status).to.equal(status);
      expect(res.headers.get('location')).to.equal(null);
      const html = await res.text();
      expect(html).to.contain('data-error="invalid_request"');
      expect(html).to.match(description);
      expect(await stored()).to.equal(before);
    };

    it('an authorization request with a parameter over 2048 characters: error page, no redirect, nothing stored', async () => {
      await errorPage(authorizeUrl({ state: 's'.repeat(2049) }), /parameter state exceeds 2048 characters/);
      await errorPage(authorizeUrl({ login_hint: 'a'.repeat(3000) }), /parameter login_hint exceeds 2048/);
      // At the limit it is an ordinary request (the interaction is stored).
      const ok = await new Browser(e.url).navigate(authorizeUrl({ state: 's'.repeat(2048) }));
      expect(ok.url).to.match(/\/oidc\/default\/interaction\//);
    });

    it('a query string over 8192 characters, or a request object over 8192, is refused the same way', async () => {
      const many = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`x${i}`, 'y'.repeat(1000)]));
      await errorPage(authorizeUrl(many), /the query string exceeds 8192 characters/);
      await errorPage(authorizeUrl({ request: 'r'.repeat(8193) }), /parameter request exceeds 8192/);
    });

    it('end_session with an oversized state or id_token_hint is refused before anything is stored', async () => {
      const end = (params: Record<string, string>) =>
        `${m().end_session_endpoint}?${new URLSearchParams(params)}`;
      await errorPage(end({ state: 's'.repeat(5000) }), /parameter state exceeds 2048/);
      await errorPage(end({ id_token_hint: 'h'.repeat(9000) }), /parameter id_token_hint exceeds 8192/);
    });

    it('a token request body over 16 KiB is 413 with an OAuth error body', async () => {
      const before = await stored();
      const res = await fetch(m().token_endpoint ?? '', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', pad: 'p'.repeat(17_000) }),
      });
      expect(res.status).to.equal(413);
      expect(await res.json()).to.deep.equal({
        error: 'invalid_request',
        error_description: 'the request body exceeds 16384 bytes',
      });
      expect(await stored()).to.equal(before);
    });

    it('a URL beyond the HTTP server header limit is refused by Node itself (431)', async () => {
      const before = await stored();
      const res = await fetch(authorizeUrl({ state: 's'.repeat(20_000) }));
      expect(res.status).to.equal(431);
      expect(await stored()).to.equal(before);
    });
  });
});
