// The OpenID Provider of the embedded runtime, driven by openid-client as the relying party: discovery,
// authorization code + PKCE through the QR login (the phone is the real mobile SDK), ID token validation,
// userinfo, refresh rotation, SSO, prompt/max_age/login_hint, a decline on the phone, and a user switch.
import { expect } from 'chai';
import { decodeProtectedHeader } from 'jose';
import * as oidc from 'openid-client';
import { phonePinAcr } from '../../../idp/interaction/ns-login.js';
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

type Tokens = Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;

describe('idp/oidc: code flow with the QR login', function () {
  this.timeout(60_000);
  let e: Embedded;
  let webapp: oidc.Configuration;
  let alice: Phone;

  before(async () => {
    e = await startEmbedded();
    const { secret } = await e.addClient({
      clientId: 'webapp',
      redirectUris: [redirectUri],
      name: 'Web app',
    });
    await e.addClient({ clientId: 'spa', public: true, redirectUris: [redirectUri] });
    webapp = await discover(e.issuer, 'webapp', secret);
    alice = await Phone.open(e.url);
    await alice.enrol(e.url, 'alice');
  });
  after(() => e?.close());

  const exchange = (
    config: oidc.Configuration,
    callback: URL,
    request: Awaited<ReturnType<typeof authRequest>>,
  ) =>
    oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: request.verifier,
      expectedNonce: request.nonce,
      expectedState: request.state,
      idTokenExpected: true,
      maxAge: 3600,
    });

  const nsSessions = async () =>
    Number((await e.runtime.dbs.ns?.('ns_sessions').count({ n: '*' }))?.[0]?.n ?? 0);

  describe('discovery', () => {
    it('publishes the issuer {PUBLIC_URL}/oidc/{server}, code + S256 PKCE, iss in responses, RS256 and ES256', async () => {
      const m = webapp.serverMetadata();
      expect(m.issuer).to.equal(`${e.url}/oidc/default`);
      for (const endpoint of [m.authorization_endpoint, m.token_endpoint, m.userinfo_endpoint, m.jwks_uri])
        expect(endpoint).to.match(new RegExp(`^${e.url}/oidc/default/`));
      expect(m.response_types_supported).to.deep.equal(['code']);
      expect(m.code_challenge_methods_supported).to.deep.equal(['S256']);
      expect(m.authorization_response_iss_parameter_supported).to.equal(true);
      expect(m.id_token_signing_alg_values_supported).to.include.members(['RS256', 'ES256']);
      expect(m.grant_types_supported).to.include.members(['authorization_code', 'refresh_token']);
      expect(m.acr_values_supported).to.deep.equal([phonePinAcr]);
      expect(m.claims_supported).to.include.members(['sub', 'acr', 'amr', 'auth_time']);
      expect(m.registration_endpoint).to.equal(undefined);
    });

    it('JWKS: a signing and a next key per algorithm, public halves only', async () => {
      const res = await fetch(webapp.serverMetadata().jwks_uri ?? '');
      expect(res.headers.get('content-type')).to.match(/^application\/jwk-set\+json/);
      const { keys } = (await res.json()) as { keys: Record<string, unknown>[] };
      expect(keys.map((k) => `${k.alg}${k.key_ops ? ':verify' : ''}`)).to.deep.equal([
        'RS256',
        'ES256',
        'RS256:verify',
        'ES256:verify',
      ]);
      for (const k of keys) {
        expect(k).to.not.have.any.keys('d', 'p', 'q', 'dp', 'dq', 'qi');
        expect(k.kid).to.match(/^[A-Za-z0-9_-]{43}$/);
      }
    });

    it('has no provider for a virtual server NS does not know', async () => {
      expect((await fetch(`${e.url}/oidc/nosuch/.well-known/openid-configuration`)).status).to.equal(404);
      expect((await fetch(`${e.url}/oidc/Bad_Name/.well-known/openid-configuration`)).status).to.equal(404);
    });
  });

  describe('login, tokens, userinfo, refresh', () => {
    const browser = () => new Browser(e.url);
    let b: Browser;
    let tokens: Tokens;
    let startedAt: number;

    before(async () => {
      b = browser();
      startedAt = Math.floor(Date.now() / 1000);
      const request = await authRequest(webapp, { scope: 'openid offline_access' });
      const callback = await authorize(b, request, alice);
      expect(callback.origin + callback.pathname).to.equal(redirectUri);
      // RFC 9207: the response names its issuer (openid-client also checks it).
      expect(callback.searchParams.get('iss')).to.equal(e.issuer);
      tokens = await exchange(webapp, callback, request);
    });

    it('the ID token says who (sub = NS userid), how (amr, acr) and when (auth_time)', () => {
      const claims = tokens.claims();
      expect(claims).to.include({ iss: e.issuer, aud: 'webapp', sub: 'alice', acr: phonePinAcr });
      expect(claims?.amr).to.deep.equal(['swk', 'pin']);
      expect(claims?.auth_time).to.be.within(startedAt, Math.floor(Date.now() / 1000));
      expect(decodeProtectedHeader(tokens.id_token ?? '').alg).to.equal('RS256');
      expect(tokens.scope?.split(' ')).to.have.members(['openid', 'offline_access']);
      expect(tokens.refresh_token).to.be.a('string');
    });

    it('the IdP session cookie is named for the virtual server', () => {
      expect(b.cookie('nextauth_oidc_default')).to.be.a('string');
      expect(b.cookies.map((c) => c.name)).to.not.include('_session');
    });

    it('userinfo answers for the access token', async () => {
      expect(await oidc.fetchUserInfo(webapp, tokens.access_token, 'alice')).to.deep.equal({ sub: 'alice' });
    });

    it('a refresh rotates the refresh token; using the old one again revokes the whole grant', async () => {
      const first = tokens.refresh_token ?? '';
      const refreshed = await oidc.refreshTokenGrant(webapp, first);
      expect(refreshed.refresh_token).to.be.a('string').and.not.equal(first);
      expect(refreshed.claims()).to.include({ sub: 'alice', aud: 'webapp' });
      expect(await oidc.fetchUserInfo(webapp, refreshed.access_token, 'alice')).to.deep.equal({
        sub: 'alice',
      });

      const reuse = await oidc.refreshTokenGrant(webapp, first).catch((err) => err);
      expect(reuse).to.be.instanceOf(oidc.ResponseBodyError);
      expect(reuse).to.include({ error: 'invalid_grant', status: 400 });
      // Reuse detection: the rotated-to token and the access tokens of the grant are dead too.
      const rotated = await oidc.refreshTokenGrant(webapp, refreshed.refresh_token ?? '').catch((err) => err);
      expect(rotated).to.include({ error: 'invalid_grant' });
      const userinfo = await oidc.fetchUserInfo(webapp, refreshed.access_token, 'alice').catch((err) => err);
      expect(userinfo).to.be.instanceOf(oidc.WWWAuthenticateChallengeError);
      expect(userinfo).to.have.property('status', 401);
    });

    it('SSO: the next authorization in this browser comes straight back, with the original auth_time', async () => {
      const request = await authRequest(webapp);
      const callback = await authorize(b, request);
      const sso = await exchange(webapp, callback, request);
      expect(sso.claims()).to.include({ sub: 'alice', auth_time: tokens.claims()?.auth_time });
    });

    it('prompt=none with a session answers at once', async () => {
      const request = await authRequest(webapp, { prompt: 'none' });
      const sso = await exchange(webapp, await authorize(b, request), request);
      expect(sso.claims()?.sub).to.equal('alice');
    });

    it('max_age: a recent enough login is reused, max_age=0 needs a new one (login_required with prompt=none)', async () => {
      const recent = await authRequest(webapp, { max_age: '3600' });
      expect((await exchange(webapp, await authorize(b, recent), recent)).claims()?.sub).to.equal('alice');
      const fresh = await authRequest(webapp, { max_age: '0', prompt: 'none' });
      const callback = await authorize(b, fresh);
      expect(callback.searchParams.get('error')).to.equal('login_required');
      expect(callback.searchParams.get('state')).to.equal(fresh.state);
      const again = await authRequest(webapp, { max_age: '0' });
      const first = await b.navigate(again.url.href);
      expect(first.leftTo).to.equal(undefined);
      expect(first.url).to.match(/\/oidc\/default\/interaction\//);
    });

    it('prompt=login asks the phone again although a session exists; auth_time moves on', async () => {
      await new Promise((r) => setTimeout(r, 1100));
      const request = await authRequest(webapp, { prompt: 'login' });
      const relogin = await exchange(webapp, await authorize(b, request, alice), request);
      expect(relogin.claims()?.sub).to.equal('alice');
      expect(relogin.claims()?.auth_time).to.be.greaterThan(Number(tokens.claims()?.auth_time));
    });

    it('another user logging in with prompt=login replaces the IdP session of this browser', async () => {
      const bob = await Phone.open(e.url);
      await bob.enrol(e.url, 'bob');
      const request = await authRequest(webapp, { prompt: 'login' });
      const switched = await exchange(webapp, await authorize(b, request, bob), request);
      expect(switched.claims()?.sub).to.equal('bob');
      const next = await authRequest(webapp, { prompt: 'none' });
      expect((await exchange(webapp, await authorize(b, next), next)).claims()?.sub).to.equal('bob');
    });
  });

  it('a public client logs in with PKCE and no secret', async () => {
    const spa = await discover(e.issuer, 'spa');
    const request = await authRequest(spa);
    const tokens = await exchange(spa, await authorize(new Browser(e.url), request, alice), request);
    expect(tokens.claims()).to.include({ sub: 'alice', aud: 'spa' });
  });

  it('login_hint only pre-selects: shown on the page, it starts no login and contacts no phone', async () => {
    const b = new Browser(e.url);
    const before = await nsSessions();
    const request = await authRequest(webapp, { login_hint: 'alice<script>' });
    const page = await b.navigate(request.url.href);
    expect(page.url).to.match(/\/oidc\/default\/interaction\//);
    const html = await page.res.text();
    expect(html).to.contain('data-hint="alice&lt;script&gt;"');
    expect(page.res.headers.get('content-security-policy')).to.contain("script-src 'self'");
    expect(await nsSessions()).to.equal(before);
  });

  it('ui_locales of the authorization request chooses the login page language', async () => {
    const request = await authRequest(webapp, { ui_locales: 'de nl' });
    const page = await new Browser(e.url).navigate(request.url.href);
    expect(page.url).to.match(/\/oidc\/default\/interaction\//);
    const html = await page.res.text();
    expect(html).to.contain('<html lang="nl">');
    expect(html).to.contain('Scan de code');
  });

  it('declining on the phone sends the RP access_denied', async () => {
    const request = await authRequest(webapp);
    const callback = await authorize(new Browser(e.url), request, alice, 'decline');
    expect(callback.searchParams.get('error')).to.equal('access_denied');
    expect(callback.searchParams.get('state')).to.equal(request.state);
    expect(callback.searchParams.get('iss')).to.equal(e.issuer);
    expect(callback.searchParams.get('code')).to.equal(null);
  });
});
