// RP-initiated logout (OIDC RP-Initiated Logout 1.0) with openid-client building the request: the logout
// page (our style and CSP, no script), "log me out" ending the IdP session, the client's grant and the NS
// login session of the browser, "stay logged in" ending only the client's part, post_logout_redirect_uri
// only when registered (no open redirect), id_token_hint checks, and the CSRF token of the confirmation.
import { expect } from 'chai';
import * as oidc from 'openid-client';
import { pageCsp } from '../../../idp/interaction/login-routes.js';
import { formPageCsp } from '../../../idp/interaction/oidc-pages.js';
import {
  authorize,
  authRequest,
  Browser,
  confirmLogout as confirm,
  discover,
  type Embedded,
  logoutForm,
  Phone,
  redirectUri,
  startEmbedded,
} from './harness.js';

const byeUri = 'http://127.0.0.1:9/bye';

describe('idp/oidc: RP-initiated logout', function () {
  this.timeout(60_000);
  let e: Embedded;
  let webapp: oidc.Configuration;
  let other: oidc.Configuration;
  let alice: Phone;

  before(async () => {
    e = await startEmbedded();
    const { secret } = await e.addClient({
      clientId: 'webapp',
      redirectUris: [redirectUri],
      postLogoutRedirectUris: [byeUri],
      name: 'Web <app>',
    });
    webapp = await discover(e.issuer, 'webapp', secret);
    const o = await e.addClient({ clientId: 'other', redirectUris: [redirectUri] });
    other = await discover(e.issuer, 'other', o.secret);
    alice = await Phone.open(e.url);
    await alice.enrol(e.url, 'alice');
  });
  after(() => e?.close());

  /** A browser in which alice logged in to `config`; its tokens. */
  const loggedIn = async (
    config = webapp,
    b = new Browser(e.url),
    phone: Phone | undefined = alice,
    scope = 'openid',
  ) => {
    const request = await authRequest(config, { scope });
    const callback = await authorize(b, request, phone);
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: request.verifier,
      expectedNonce: request.nonce,
      expectedState: request.state,
    });
    return { b, tokens };
  };

  const nsState = async (b: Browser) =>
    ((await (await b.fetch('/ns/servers/default/session')).json()) as { state: string }).state;
  const silent = async (b: Browser, config = webapp) => {
    const request = await authRequest(config, { prompt: 'none' });
    return authorize(b, request);
  };
  const userinfoStatus = async (config: oidc.Configuration, token: string) =>
    (
      await fetch(config.serverMetadata().userinfo_endpoint ?? '', {
        headers: { authorization: `Bearer ${token}` },
      })
    ).status;

  it('discovery publishes the end_session_endpoint', () => {
    expect(webapp.serverMetadata().end_session_endpoint).to.equal(`${e.issuer}/session/end`);
  });

  it('"log me out": back to the registered URI with state; IdP session, grant and NS login session end', async () => {
    const { b, tokens } = await loggedIn();
    expect(await nsState(b)).to.equal('loggedin');
    const url = oidc.buildEndSessionUrl(webapp, {
      id_token_hint: tokens.id_token ?? '',
      post_logout_redirect_uri: byeUri,
      state: 'bye-state',
    });
    const page = await b.fetch(url.href);
    expect(page.status).to.equal(200);
    // The login page's CSP, except that the form may end up at the registered post_logout_redirect_uri.
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).to.equal(formPageCsp([byeUri]));
    expect(csp).to.contain("form-action 'self' http://127.0.0.1:9");
    expect(csp.replace(/; form-action [^;]*/, '')).to.equal(pageCsp.replace(/; form-action [^;]*/, ''));
    expect(page.headers.get('cache-control')).to.contain('no-store');
    const html = await page.text();
    expect(html).to.contain('<main id="logout-page">');
    expect(html).to.contain('Web &lt;app&gt;');
    expect(html).to.contain('href="/static/login.css"');
    expect(html).to.not.match(/<script|<style|style=|https?:\/\/(?!127\.0\.0\.1)/);
    const { action, xsrf } = logoutForm(html);
    expect(action).to.equal(`${e.issuer}/session/end/confirm`);

    const done = await confirm(b, action, { xsrf, logout: 'yes' });
    expect(done.status).to.equal(303);
    const back = new URL(done.headers.get('location') ?? '');
    expect(back.origin + back.pathname).to.equal(byeUri);
    expect(back.searchParams.get('state')).to.equal('bye-state');

    expect(b.cookie('nextauth_oidc_default')).to.equal(undefined);
    expect((await silent(b)).searchParams.get('error')).to.equal('login_required');
    expect(await userinfoStatus(webapp, tokens.access_token)).to.equal(401);
    expect(await nsState(b)).to.equal('loggedout');
  });

  it('a grant with offline_access outlives the logout (the RP asked for access beyond the session)', async () => {
    const { b, tokens } = await loggedIn(webapp, new Browser(e.url), alice, 'openid offline_access');
    const url = oidc.buildEndSessionUrl(webapp, { id_token_hint: tokens.id_token ?? '' });
    const { action, xsrf } = logoutForm(await (await b.fetch(url.href)).text());
    expect((await confirm(b, action, { xsrf, logout: 'yes' })).status).to.equal(303);
    expect((await silent(b)).searchParams.get('error')).to.equal('login_required');
    const refreshed = await oidc.refreshTokenGrant(webapp, tokens.refresh_token ?? '');
    expect(refreshed.access_token).to.be.a('string');
  });

  it('"stay logged in": only this client\'s part ends; the IdP and NS sessions stay', async () => {
    const { b, tokens } = await loggedIn();
    const sibling = await loggedIn(other, b, undefined);
    const url = oidc.buildEndSessionUrl(webapp, {
      id_token_hint: tokens.id_token ?? '',
      post_logout_redirect_uri: byeUri,
    });
    const { action, xsrf } = logoutForm(await (await b.fetch(url.href)).text());
    const done = await confirm(b, action, { xsrf });
    expect(done.status).to.equal(303);
    expect(done.headers.get('location')).to.equal(byeUri);
    expect(await userinfoStatus(webapp, tokens.access_token)).to.equal(401);
    expect(await userinfoStatus(other, sibling.tokens.access_token)).to.equal(200);
    expect((await silent(b, other)).searchParams.get('code')).to.be.a('string');
    expect(await nsState(b)).to.equal('loggedin');
  });

  it('an unregistered post_logout_redirect_uri is an error page, never a redirect, and logs no one out', async () => {
    const { b, tokens } = await loggedIn();
    for (const uri of ['https://evil.example/bye', `${byeUri}/more`, `${byeUri}?x=1`, redirectUri]) {
      const url = oidc.buildEndSessionUrl(webapp, {
        id_token_hint: tokens.id_token ?? '',
        post_logout_redirect_uri: uri,
      });
      const res = await b.fetch(url.href);
      expect(res.status, uri).to.equal(400);
      expect(res.headers.get('location')).to.equal(null);
      const html = await res.text();
      expect(html).to.contain('data-error="invalid_request"');
      expect(html).to.contain('post_logout_redirect_uri not registered');
      expect(html).to.not.contain('evil.example');
    }
    expect((await silent(b)).searchParams.get('code')).to.be.a('string');
  });

  it('without id_token_hint or client_id a post_logout_redirect_uri is ignored: the success page, not the URI', async () => {
    const { b } = await loggedIn();
    const url = new URL(webapp.serverMetadata().end_session_endpoint ?? '');
    url.searchParams.set('post_logout_redirect_uri', 'https://evil.example/bye');
    const page = await b.fetch(url.href);
    expect(page.status).to.equal(200);
    const { action, xsrf } = logoutForm(await page.text());
    const done = await confirm(b, action, { xsrf, logout: 'yes' });
    expect(done.status).to.equal(303);
    const location = done.headers.get('location') ?? '';
    expect(location).to.equal(`${e.issuer}/session/end/success`);
    const success = await b.fetch(location);
    expect(success.status).to.equal(200);
    expect(success.headers.get('content-security-policy')).to.equal(pageCsp);
    expect(await success.text()).to.contain('<main id="loggedout-page">');
  });

  it('a client_id that is not the audience of id_token_hint, or a tampered hint, is an error page', async () => {
    const { b, tokens } = await loggedIn();
    const idToken = tokens.id_token ?? '';
    const mismatch = new URL(webapp.serverMetadata().end_session_endpoint ?? '');
    mismatch.searchParams.set('id_token_hint', idToken);
    mismatch.searchParams.set('client_id', 'other');
    const res = await b.fetch(mismatch.href);
    expect(res.status).to.equal(400);
    expect(await res.text()).to.contain('client_id does not match the provided id_token_hint');
    const [h, p, s] = idToken.split('.');
    const claims = JSON.parse(Buffer.from(p ?? '', 'base64url').toString()) as Record<string, unknown>;
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: 'mallory' })).toString('base64url')}.${s}`;
    const tampered = oidc.buildEndSessionUrl(webapp, {
      id_token_hint: forged,
      post_logout_redirect_uri: byeUri,
    });
    const bad = await b.fetch(tampered.href);
    expect(bad.status).to.equal(400);
    expect(bad.headers.get('location')).to.equal(null);
    expect(await bad.text()).to.contain('could not validate id_token_hint');
    expect((await silent(b)).searchParams.get('code')).to.be.a('string');
  });

  it("the confirmation needs the CSRF token of this browser's logout page", async () => {
    const { b, tokens } = await loggedIn();
    const url = oidc.buildEndSessionUrl(webapp, { id_token_hint: tokens.id_token ?? '' });
    const { action } = logoutForm(await (await b.fetch(url.href)).text());
    const attempts: Record<string, string>[] = [{ logout: 'yes' }, { xsrf: 'forged', logout: 'yes' }];
    for (const fields of attempts) {
      const res = await confirm(b, action, fields);
      expect(res.status).to.equal(400);
      expect(res.headers.get('location')).to.equal(null);
    }
    // A cross-site page cannot read the token: a second browser's token does not fit this session either.
    const { b: mallory, tokens: hers } = await loggedIn();
    const theirs = logoutForm(
      await (
        await mallory.fetch(oidc.buildEndSessionUrl(webapp, { id_token_hint: hers.id_token ?? '' }).href)
      ).text(),
    );
    expect((await confirm(b, action, { xsrf: theirs.xsrf, logout: 'yes' })).status).to.equal(400);
    expect((await silent(b)).searchParams.get('code')).to.be.a('string');
    expect(await nsState(b)).to.equal('loggedin');
  });
});
