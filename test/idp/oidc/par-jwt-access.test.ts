// PAR (RFC 9126) and JWT access tokens for registered resource servers (RFC 8707 + RFC 9068), with
// openid-client as the RP: a full login through a pushed request_uri; a request_uri used twice, expired, or
// pushed with a bad secret is refused; a token for a registered resource is an `at+jwt` the resource
// server verifies with the JWKS alone; any other resource is `invalid_target`.
import { expect } from 'chai';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { payloadsTable } from '../../../idp/oidc/adapter.js';
import {
  type AuthRequest,
  authorize,
  authRequest,
  Browser,
  discover,
  type Embedded,
  Phone,
  qrLogin,
  redirectUri,
  startEmbedded,
} from './harness.js';

/** Real time plus an offset the test moves: the IdP's storage sees the request_uri expire. */
const clock = { offset: 0, now: () => Date.now() + clock.offset };
const api = 'https://api.example.test/orders';
const other = 'https://api.example.test/billing';

describe('idp/oidc: pushed authorization requests and JWT access tokens', function () {
  this.timeout(60_000);
  let e: Embedded;
  let webapp: oidc.Configuration;
  let secret: string;
  let service: oidc.Configuration;
  let partner: oidc.Configuration;
  let alice: Phone;

  before(async () => {
    e = await startEmbedded({
      clock,
      env: { NEXTAUTH_OIDC_RESOURCES: `${api}, https://second.example.test` },
    });
    secret = (await e.addClient({ clientId: 'webapp', redirectUris: [redirectUri] })).secret ?? '';
    webapp = await discover(e.issuer, 'webapp', secret);
    const serviceSecret =
      (await e.addClient({ clientId: 'service', grantTypes: ['client_credentials'] })).secret ?? '';
    service = await discover(e.issuer, 'service', serviceSecret);
    const partnerSecret = (
      await e.addClient({ clientId: 'partner', redirectUris: [redirectUri], thirdParty: true })
    ).secret;
    partner = await discover(e.issuer, 'partner', partnerSecret);
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

  /** An authorization request pushed first: the browser gets only client_id and request_uri. */
  const pushed = async (config = webapp, params: Record<string, string> = {}): Promise<AuthRequest> => {
    const plain = await authRequest(config, params);
    const url = await oidc.buildAuthorizationUrlWithPAR(config, Object.fromEntries(plain.url.searchParams));
    return { ...plain, url };
  };
  const redeem = (request: AuthRequest, callback: URL, params: Record<string, string> = {}) =>
    oidc.authorizationCodeGrant(
      webapp,
      callback,
      { pkceCodeVerifier: request.verifier, expectedNonce: request.nonce, expectedState: request.state },
      params,
    );
  /**
   * A refused request_uri: the error goes to the client's registered redirect URI (its only one; the pushed
   * parameters are gone), never a code.
   */
  const isRefusal = (callback: URL) => {
    expect(`${callback.origin}${callback.pathname}`).to.equal(redirectUri);
    expect(callback.searchParams.get('error')).to.equal('invalid_request_uri');
    expect(callback.searchParams.has('code')).to.equal(false);
  };
  const refusedRequestUri = async (b: Browser, url: URL) => {
    const { leftTo } = await b.navigate(url.href);
    isRefusal(new URL(leftTo ?? 'http://none/'));
  };

  describe('PAR', () => {
    it('discovery publishes the endpoint; PAR is not required', () => {
      expect(m().pushed_authorization_request_endpoint).to.equal(`${e.issuer}/request`);
      expect(m().require_pushed_authorization_requests).to.not.equal(true);
    });

    it('a full login through a pushed request_uri: the browser URL carries no request parameters', async () => {
      const request = await pushed();
      expect([...request.url.searchParams.keys()].sort()).to.deep.equal(['client_id', 'request_uri']);
      expect(request.url.searchParams.get('request_uri')).to.match(/^urn:ietf:params:oauth:request_uri:/);
      const callback = await authorize(new Browser(e.url), request, alice);
      const tokens = await redeem(request, callback);
      expect(tokens.claims()?.sub).to.equal('alice');
    });

    it('plain authorization requests still work next to PAR', async () => {
      const request = await authRequest(webapp);
      const tokens = await redeem(request, await authorize(new Browser(e.url), request, alice));
      expect(tokens.claims()?.sub).to.equal('alice');
    });

    it('a request_uri used a second time is refused (invalid_request_uri), even with an IdP session', async () => {
      const request = await pushed();
      const b = new Browser(e.url);
      await redeem(request, await authorize(b, request, alice));
      await refusedRequestUri(b, request.url);
    });

    it('of two browsers that opened one request_uri, only the first to finish gets a code', async () => {
      const request = await pushed();
      const [first, second] = [new Browser(e.url), new Browser(e.url)];
      const opened = await second.navigate(request.url.href);
      expect(opened.url).to.match(/\/oidc\/default\/interaction\//);
      await redeem(request, await authorize(first, request, alice));
      isRefusal(await authorize(second, request, alice));
    });

    it('an expired request_uri (over 60 s) is refused', async () => {
      const request = await pushed();
      clock.offset = 61_000;
      await refusedRequestUri(new Browser(e.url), request.url);
    });

    it('a request_uri within its 60 s works', async () => {
      const request = await pushed();
      clock.offset = 55_000;
      const callback = await authorize(new Browser(e.url), request, alice);
      clock.offset = 0;
      expect((await redeem(request, callback)).claims()?.sub).to.equal('alice');
    });

    it('a made-up request_uri is refused', async () => {
      const url = new URL(m().authorization_endpoint ?? '');
      url.searchParams.set('client_id', 'webapp');
      url.searchParams.set('request_uri', 'urn:ietf:params:oauth:request_uri:made-up');
      await refusedRequestUri(new Browser(e.url), url);
    });

    it('a push with a bad client secret is invalid_client and stores nothing', async () => {
      const wrong = await discover(e.issuer, 'webapp', 'not-the-secret-0123456789');
      const before = await stored();
      const err = await pushed(wrong).catch((x: unknown) => x);
      expect(err).to.be.instanceOf(oidc.ResponseBodyError);
      expect((err as oidc.ResponseBodyError).error).to.equal('invalid_client');
      expect(await stored()).to.equal(before);
    });

    it('a push with an unregistered redirect_uri is refused and stores nothing', async () => {
      const before = await stored();
      const err = await pushed(webapp, { redirect_uri: 'https://evil.example.test/cb' }).catch(
        (x: unknown) => x,
      );
      expect(err).to.be.instanceOf(oidc.ResponseBodyError);
      expect((err as oidc.ResponseBodyError).error).to.equal('invalid_request');
      expect(await stored()).to.equal(before);
    });
  });

  describe('JWT access tokens (RFC 9068) for registered resources', () => {
    const verify = (token: string, audience: string) =>
      jwtVerify(token, createRemoteJWKSet(new URL(m().jwks_uri ?? '')), {
        issuer: e.issuer,
        audience,
        typ: 'at+jwt',
      });

    it('client credentials with resource= a registered resource: an at+jwt the resource server verifies', async () => {
      const tokens = await oidc.clientCredentialsGrant(service, { resource: api });
      const header = decodeProtectedHeader(tokens.access_token);
      expect(header).to.include({ typ: 'at+jwt', alg: 'RS256' });
      expect(header.kid).to.be.a('string');
      const { payload } = await verify(tokens.access_token, api);
      expect(payload).to.include({ client_id: 'service', sub: 'service', aud: api });
      expect(payload.iat).to.be.a('number');
      expect(payload.exp).to.equal((payload.iat ?? 0) + 3600);
      expect(payload.jti).to.be.a('string');
      // Another resource server does not accept it.
      const err = await verify(tokens.access_token, 'https://second.example.test').catch((x: unknown) => x);
      expect(String((err as Error).name)).to.equal('JWTClaimValidationFailed');
    });

    it('a user login for a resource: the access token is an at+jwt for alice; the ID token is as usual', async () => {
      const request = await authRequest(webapp, { resource: api });
      const callback = await authorize(new Browser(e.url), request, alice);
      const tokens = await redeem(request, callback, { resource: api });
      expect(tokens.claims()?.sub).to.equal('alice');
      const { payload } = await verify(tokens.access_token, api);
      expect(payload).to.include({ sub: 'alice', client_id: 'webapp', aud: api, iss: e.issuer });
      // A resource's token is not a userinfo token.
      const userinfo = await fetch(m().userinfo_endpoint ?? '', {
        headers: { authorization: `Bearer ${tokens.access_token}` },
      });
      expect(userinfo.status).to.equal(401);
    });

    it('through PAR as well: resource pushed, named again at the token endpoint', async () => {
      const request = await pushed(webapp, { resource: api });
      const callback = await authorize(new Browser(e.url), request, alice);
      const { payload } = await verify(
        (await redeem(request, callback, { resource: api })).access_token,
        api,
      );
      expect(payload.sub).to.equal('alice');
    });

    it('a refresh token of a resource login gets a new at+jwt for that resource', async () => {
      const request = await authRequest(webapp, { resource: api, scope: 'openid offline_access' });
      const callback = await authorize(new Browser(e.url), request, alice);
      const tokens = await redeem(request, callback, { resource: api });
      const refreshed = await oidc.refreshTokenGrant(webapp, tokens.refresh_token ?? '', { resource: api });
      const { payload } = await verify(refreshed.access_token, api);
      expect(payload.sub).to.equal('alice');
      const err = await oidc
        .refreshTokenGrant(webapp, refreshed.refresh_token ?? '', { resource: other })
        .catch((x: unknown) => x);
      expect((err as oidc.ResponseBodyError).error).to.equal('invalid_target');
    });

    it('a third-party client: after consent, its token for the resource is an at+jwt', async () => {
      const request = await authRequest(partner, { resource: api });
      const b = new Browser(e.url);
      const first = await b.navigate(request.url.href);
      const done = await qrLogin(b, alice, first.url);
      const consent = await b.navigate(((await done.json()) as { location: string }).location);
      const html = await consent.res.text();
      expect(html).to.contain('<main id="consent-page">');
      const action = /<form id="consent-form" method="post" action="([^"]+)"/.exec(html)?.[1] ?? '';
      const decided = await b.fetch(action, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: e.url },
        body: 'decision=allow',
      });
      expect(decided.status).to.equal(303);
      const back = await b.navigate(decided.headers.get('location') ?? '');
      const tokens = await oidc.authorizationCodeGrant(
        partner,
        new URL(back.leftTo ?? ''),
        { pkceCodeVerifier: request.verifier, expectedNonce: request.nonce, expectedState: request.state },
        { resource: api },
      );
      const { payload } = await verify(tokens.access_token, api);
      expect(payload).to.include({ sub: 'alice', client_id: 'partner' });
    });

    it('without resource= at the token endpoint the access token stays the opaque userinfo token', async () => {
      const request = await authRequest(webapp, { resource: api });
      const tokens = await redeem(request, await authorize(new Browser(e.url), request, alice));
      expect(tokens.access_token.split('.')).to.have.length(1);
      const info = await oidc.fetchUserInfo(webapp, tokens.access_token, 'alice');
      expect(info.sub).to.equal('alice');
    });

    it('client credentials with an unregistered resource is invalid_target and stores nothing', async () => {
      const before = await stored();
      for (const resource of [other, `${api}/`, 'not a uri']) {
        const err = await oidc.clientCredentialsGrant(service, { resource }).catch((x: unknown) => x);
        expect(err, resource).to.be.instanceOf(oidc.ResponseBodyError);
        expect((err as oidc.ResponseBodyError).error, resource).to.equal('invalid_target');
      }
      expect(await stored()).to.equal(before);
    });

    it('an authorization request for an unregistered resource comes back invalid_target, no login', async () => {
      const request = await authRequest(webapp, { resource: other });
      const { leftTo } = await new Browser(e.url).navigate(request.url.href);
      const back = new URL(leftTo ?? 'http://none/');
      expect(`${back.origin}${back.pathname}`).to.equal(redirectUri);
      expect(back.searchParams.get('error')).to.equal('invalid_target');
      expect(back.searchParams.get('state')).to.equal(request.state);
    });

    it('a pushed request for an unregistered resource is invalid_target', async () => {
      const err = await pushed(webapp, { resource: other }).catch((x: unknown) => x);
      expect((err as oidc.ResponseBodyError).error).to.equal('invalid_target');
    });

    it('a code granted for one resource cannot be redeemed for another (invalid_target)', async () => {
      const request = await authRequest(webapp, { resource: api });
      const callback = await authorize(new Browser(e.url), request, alice);
      const err = await redeem(request, callback, { resource: 'https://second.example.test' }).catch(
        (x: unknown) => x,
      );
      expect((err as oidc.ResponseBodyError).error).to.equal('invalid_target');
    });
  });
});
