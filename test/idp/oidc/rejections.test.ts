// Every rejection path of the OIDC slice, each asserted: concurrent and repeated code redemption, PKCE,
// redirect URIs, client authentication, prompt=none, and the interaction's own refusals (no NS login, still
// pending, approved before the request, used twice, CSRF, foreign or expired interaction).
import { expect } from 'chai';
import * as oidc from 'openid-client';
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

describe('idp/oidc: rejections', function () {
  this.timeout(60_000);
  let e: Embedded;
  let webapp: oidc.Configuration;
  let secret: string;
  let otherSecret: string;
  let spa: oidc.Configuration;
  let alice: Phone;

  before(async () => {
    e = await startEmbedded();
    secret = (await e.addClient({ clientId: 'webapp', redirectUris: [redirectUri] })).secret ?? '';
    otherSecret = (await e.addClient({ clientId: 'other', redirectUris: [redirectUri] })).secret ?? '';
    await e.addClient({ clientId: 'spa', public: true, redirectUris: [redirectUri] });
    webapp = await discover(e.issuer, 'webapp', secret);
    spa = await discover(e.issuer, 'spa');
    alice = await Phone.open(e.url);
    await alice.enrol(e.url, 'alice');
  });
  after(() => e?.close());

  const tokenEndpoint = () => webapp.serverMetadata().token_endpoint ?? '';
  const basic = (id: string, s: string) => `Basic ${Buffer.from(`${id}:${s}`).toString('base64')}`;

  /** A raw token request, as a racing or misbehaving client sends it. */
  const redeem = (code: string, verifier: string | undefined, auth = basic('webapp', secret), extra = {}) =>
    fetch(tokenEndpoint(), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: auth },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: redirectUri,
        ...(verifier !== undefined ? { code_verifier: verifier } : {}),
        ...extra,
      }),
    });

  const userinfo = (accessToken: string) =>
    fetch(webapp.serverMetadata().userinfo_endpoint ?? '', {
      headers: { authorization: `Bearer ${accessToken}` },
    });

  /** A fresh login of alice in a new browser; returns the code and the request it answers. */
  const freshCode = async (config = webapp, params: Record<string, string> = {}) => {
    const request = await authRequest(config, params);
    const callback = await authorize(new Browser(e.url), request, alice);
    const code = callback.searchParams.get('code');
    if (!code) throw new Error(`no code: ${callback.href}`);
    return { code, request };
  };

  describe('authorization codes', () => {
    it('of 10 concurrent redemptions of one code exactly one gets tokens, and the grant is revoked', async () => {
      const { code, request } = await freshCode();
      const responses = await Promise.all(Array.from({ length: 10 }, () => redeem(code, request.verifier)));
      const bodies = await Promise.all(responses.map((r) => r.json() as Promise<Record<string, string>>));
      expect(responses.map((r) => r.status).filter((s) => s === 200)).to.have.length(1);
      const losers = bodies.filter((_, i) => responses[i]?.status !== 200);
      expect(losers).to.have.length(9);
      for (const body of losers) expect(body.error).to.equal('invalid_grant');
      // The code was used more than once: what it gave is revoked (RFC 6749 §4.1.2).
      const winner = bodies.find((_, i) => responses[i]?.status === 200);
      expect((await userinfo(winner?.access_token ?? '')).status).to.equal(401);
    });

    it('a second redemption fails and revokes the tokens of the first', async () => {
      const { code, request } = await freshCode(webapp, { scope: 'openid offline_access' });
      const first = await redeem(code, request.verifier);
      expect(first.status).to.equal(200);
      const tokens = (await first.json()) as { access_token: string; refresh_token: string };
      expect((await userinfo(tokens.access_token)).status).to.equal(200);
      const second = await redeem(code, request.verifier);
      expect(second.status).to.equal(400);
      expect(await second.json()).to.include({ error: 'invalid_grant' });
      expect((await userinfo(tokens.access_token)).status).to.equal(401);
      const refresh = await oidc.refreshTokenGrant(webapp, tokens.refresh_token).catch((err) => err);
      expect(refresh).to.include({ error: 'invalid_grant' });
    });

    it('a code is bound to its client and its redirect_uri', async () => {
      const { code, request } = await freshCode();
      const foreign = await redeem(code, request.verifier, basic('other', otherSecret));
      expect(foreign.status).to.equal(400);
      expect(await foreign.json()).to.include({ error: 'invalid_grant' });
      const wrongUri = await redeem(code, request.verifier, undefined, {
        redirect_uri: 'http://127.0.0.1:9/other',
      });
      expect(wrongUri.status).to.equal(400);
      expect(await wrongUri.json()).to.include({ error: 'invalid_grant' });
      // Neither attempt used the code up.
      expect((await redeem(code, request.verifier)).status).to.equal(200);
    });

    it('an unknown code is invalid_grant', async () => {
      const res = await redeem('A'.repeat(43), 'v'.repeat(43));
      expect(res.status).to.equal(400);
      expect(await res.json()).to.include({ error: 'invalid_grant' });
    });
  });

  describe('PKCE', () => {
    it('a public client without code_challenge gets invalid_request at the RP, no login', async () => {
      const b = new Browser(e.url);
      const url = oidc.buildAuthorizationUrl(spa, {
        redirect_uri: redirectUri,
        scope: 'openid',
        state: 's1',
      });
      const { leftTo } = await b.navigate(url.href);
      const callback = new URL(leftTo ?? '');
      expect(callback.searchParams.get('error')).to.equal('invalid_request');
      expect(callback.searchParams.get('error_description')).to.match(/PKCE/);
      expect(callback.searchParams.get('state')).to.equal('s1');
    });

    it('the plain method is refused: S256 only', async () => {
      const b = new Browser(e.url);
      const url = oidc.buildAuthorizationUrl(spa, {
        redirect_uri: redirectUri,
        scope: 'openid',
        code_challenge: 'a'.repeat(43),
        code_challenge_method: 'plain',
      });
      const callback = new URL((await b.navigate(url.href)).leftTo ?? '');
      expect(callback.searchParams.get('error')).to.equal('invalid_request');
    });

    it('a wrong or missing code_verifier is invalid_grant and leaves the code usable', async () => {
      const { code, request } = await freshCode(spa);
      const tokenAt = (body: Record<string, string>) =>
        fetch(tokenEndpoint(), {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            grant_type: 'authorization_code',
            code,
            redirect_uri: redirectUri,
            client_id: 'spa',
            ...body,
          }),
        });
      const wrong = await tokenAt({ code_verifier: oidc.randomPKCECodeVerifier() });
      expect(wrong.status).to.equal(400);
      expect(await wrong.json()).to.include({ error: 'invalid_grant' });
      const missing = await tokenAt({});
      expect(missing.status).to.equal(400);
      expect(await missing.json()).to.include({ error: 'invalid_grant' });
      expect((await tokenAt({ code_verifier: request.verifier })).status).to.equal(200);
    });

    it('a confidential client may leave PKCE out (OIDC Basic), but a challenge it sent binds the code', async () => {
      const b = new Browser(e.url);
      const state = oidc.randomState();
      const url = oidc.buildAuthorizationUrl(webapp, { redirect_uri: redirectUri, scope: 'openid', state });
      const first = await b.navigate(url.href);
      const done = await qrLogin(b, alice, first.url);
      const back = await b.navigate(((await done.json()) as { location: string }).location);
      const code = new URL(back.leftTo ?? '').searchParams.get('code') ?? '';
      expect((await redeem(code, undefined)).status).to.equal(200);
      const bound = await freshCode();
      const res = await redeem(bound.code, undefined);
      expect(res.status).to.equal(400);
      expect(await res.json()).to.include({ error: 'invalid_grant' });
    });
  });

  describe('redirect URIs and clients', () => {
    const authorizeRaw = (params: Record<string, string>) =>
      new Browser(e.url).fetch(
        `${webapp.serverMetadata().authorization_endpoint}?${new URLSearchParams({
          response_type: 'code',
          scope: 'openid',
          code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
          code_challenge_method: 'S256',
          state: 'st',
          ...params,
        })}`,
      );

    it('an unregistered redirect_uri gets an error page and no redirect', async () => {
      for (const uri of ['https://evil.example/cb', `${redirectUri}/more`, `${redirectUri}?x=1`]) {
        const res = await authorizeRaw({ client_id: 'webapp', redirect_uri: uri });
        expect(res.status, uri).to.equal(400);
        expect(res.headers.get('location')).to.equal(null);
        expect(res.headers.get('content-type')).to.match(/^text\/html/);
        const html = await res.text();
        expect(html).to.contain('data-error="invalid_redirect_uri"');
        expect(html).to.not.contain('evil.example');
      }
    });

    it('an unknown client gets an error page and no redirect', async () => {
      const res = await authorizeRaw({ client_id: 'nobody', redirect_uri: redirectUri });
      expect(res.status).to.equal(400);
      expect(res.headers.get('location')).to.equal(null);
      expect(await res.text()).to.contain('data-error="invalid_client"');
    });

    it('a wrong client secret is invalid_client; client_secret_post works as well as _basic', async () => {
      const { code, request } = await freshCode();
      const wrong = await redeem(code, request.verifier, basic('webapp', 'not-the-secret-at-all'));
      expect(wrong.status).to.equal(401);
      expect(await wrong.json()).to.include({ error: 'invalid_client' });
      const post = await fetch(tokenEndpoint(), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code,
          redirect_uri: redirectUri,
          code_verifier: request.verifier,
          client_id: 'webapp',
          client_secret: secret,
        }),
      });
      expect(post.status).to.equal(200);
    });
  });

  it('prompt=none without an IdP session is login_required at the RP', async () => {
    const request = await authRequest(webapp, { prompt: 'none' });
    const { leftTo } = await new Browser(e.url).navigate(request.url.href);
    const callback = new URL(leftTo ?? '');
    expect(callback.searchParams.get('error')).to.equal('login_required');
    expect(callback.searchParams.get('state')).to.equal(request.state);
    expect(callback.searchParams.get('iss')).to.equal(e.issuer);
    expect(callback.searchParams.get('code')).to.equal(null);
  });

  describe('the interaction', () => {
    /** Starts an authorization in `b` and returns the interaction page URL and its complete URL. */
    const interaction = async (b: Browser, request?: AuthRequest) => {
      const r = request ?? (await authRequest(webapp));
      const { url, res } = await b.navigate(r.url.href);
      const complete = /data-complete="([^"]+)"/.exec(await res.text())?.[1] ?? '';
      expect(complete).to.match(/\/oidc\/default\/interaction\/[^/]+\/complete$/);
      return { url, complete };
    };
    const problem = async (res: Response) => ({ status: res.status, ...((await res.json()) as object) });

    it('without an NS login session in the browser: 409 no_login_session', async () => {
      const b = new Browser(e.url);
      const { complete } = await interaction(b);
      expect(await problem(await b.postJson(complete))).to.include({
        status: 409,
        reason: 'no_login_session',
      });
    });

    it('while the phone has not approved: 409 login_pending, then it completes', async () => {
      const b = new Browser(e.url);
      const { complete } = await interaction(b);
      expect((await b.postJson('/ns/servers/default/browser-session')).status).to.equal(201);
      expect(await problem(await b.postJson(complete))).to.include({ status: 409, reason: 'login_pending' });
      const { qrUri } = (await (await b.fetch('/ns/servers/default/session/qr')).json()) as { qrUri: string };
      await alice.answer(qrUri);
      expect((await b.postJson(complete)).status).to.equal(200);
    });

    it('one NS login completes one authorization only: the second gets 409 login_used', async () => {
      const b = new Browser(e.url);
      const a = await interaction(b);
      const second = await interaction(b);
      const done = await qrLogin(b, alice, a.url);
      expect(done.status).to.equal(200);
      expect(await problem(await b.postJson(second.complete))).to.include({
        status: 409,
        reason: 'login_used',
      });
      // Repeating the first one does not log in again either.
      expect((await b.postJson(a.complete)).status).to.be.oneOf([400, 409]);
    });

    it('an NS login approved before the authorization began does not count: 409 login_stale', async () => {
      const b = new Browser(e.url);
      expect((await b.postJson('/ns/servers/default/browser-session')).status).to.equal(201);
      const { qrUri } = (await (await b.fetch('/ns/servers/default/session/qr')).json()) as { qrUri: string };
      await alice.answer(qrUri);
      await new Promise((r) => setTimeout(r, 1100));
      const { complete } = await interaction(b);
      expect(await problem(await b.postJson(complete))).to.include({ status: 409, reason: 'login_stale' });
    });

    it('refuses a form post (CSRF) with 415, before reading any session', async () => {
      const b = new Browser(e.url);
      const { complete } = await interaction(b);
      const res = await b.fetch(complete, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'a=b',
      });
      expect(res.status).to.equal(415);
    });

    it("another browser's interaction URL (no interaction cookie) reads as expired", async () => {
      const owner = new Browser(e.url);
      const { url, complete } = await interaction(owner);
      const stranger = new Browser(e.url);
      const page = await stranger.fetch(url);
      expect(page.status).to.equal(400);
      expect(await page.text()).to.contain('data-error="interaction_expired"');
      expect(await problem(await stranger.postJson(complete))).to.include({
        status: 400,
        reason: 'interaction_expired',
      });
      // The owner still has it (each interaction's cookie is scoped to its own path: tabs do not collide).
      expect((await owner.fetch(url)).status).to.equal(200);
    });
  });
});
