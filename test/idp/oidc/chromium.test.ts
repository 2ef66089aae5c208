// The OIDC login in headless Chromium: the RP's authorization URL opens the interaction page, the QR is read
// from a screenshot, the phone (the mobile SDK) approves or declines, and the page's own script finishes the
// interaction and lands on the RP's redirect URI, whose code openid-client redeems. A third-party client's
// consent page and the logout page work without script, under their CSP, with a real browser's form posts.
import { expect } from 'chai';
import * as oidc from 'openid-client';
import type { Browser as Chromium, Page } from 'playwright-core';
import { launchChromium, readQr } from '../../helpers/browser.js';
import { authRequest, discover, type Embedded, Phone, redirectUri, startEmbedded } from './harness.js';

describe('idp/oidc: login in Chromium', function () {
  this.timeout(90_000);
  let chromium: Chromium;
  let e: Embedded;
  let config: oidc.Configuration;
  let partner: oidc.Configuration;
  let alice: Phone;
  const byeUri = 'http://127.0.0.1:9/bye';

  before(async function () {
    chromium = await launchChromium(this);
    e = await startEmbedded();
    const { secret } = await e.addClient({ clientId: 'webapp', redirectUris: [redirectUri] });
    config = await discover(e.issuer, 'webapp', secret);
    const p = await e.addClient({
      clientId: 'partner',
      redirectUris: [redirectUri],
      postLogoutRedirectUris: [byeUri],
      name: 'Partner',
      thirdParty: true,
    });
    partner = await discover(e.issuer, 'partner', p.secret);
    alice = await Phone.open(e.url);
    await alice.enrol(e.url, 'alice');
  });
  after(async () => {
    await chromium?.close();
    await e?.close();
  });

  /** Opens the authorization URL; resolves with the RP callback URL once the browser is sent there. */
  async function openAuthorization(page: Page, url: URL): Promise<{ landed: Promise<URL> }> {
    let land: (url: URL) => void = () => {};
    const landed = new Promise<URL>((resolve) => {
      land = resolve;
    });
    await page.route(`${redirectUri}**`, async (route) => {
      land(new URL(route.request().url()));
      await route.fulfill({ status: 200, contentType: 'text/plain', body: 'RP callback' });
    });
    await page.goto(url.href);
    // The route fires before the callback page has loaded; waiting for the load as well keeps the next
    // page.goto of a test from being interrupted by this navigation still in flight.
    const loaded = landed.then(async (callback) => {
      await page.waitForURL(`${redirectUri}**`);
      return callback;
    });
    // Wrapped: an async function returning the promise itself would wait for it.
    return { landed: loaded };
  }

  it('scan, approve on the phone: the page returns to the RP with a code for alice', async () => {
    const page = await chromium.newPage();
    const request = await authRequest(config, { login_hint: 'alice' });
    const { landed } = await openAuthorization(page, request.url);
    expect(page.url()).to.match(/\/oidc\/default\/interaction\//);
    await page.waitForSelector('#qr[src^="data:image/svg+xml"]');
    expect(await page.textContent('#login-hint')).to.equal('Log in as alice');
    await alice.answer(await readQr(page, '#qr'));
    const callback = await landed;
    expect(callback.searchParams.get('iss')).to.equal(e.issuer);
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: request.verifier,
      expectedNonce: request.nonce,
      expectedState: request.state,
    });
    expect(tokens.claims()).to.include({ sub: 'alice' });
    expect(tokens.claims()?.amr).to.deep.equal(['swk', 'pin']);
    const cookies = await page.context().cookies();
    expect(cookies.find((c) => c.name === 'nextauth_oidc_default')?.httpOnly).to.equal(true);
    await page.close();
  });

  it('decline on the phone: the page returns access_denied to the RP', async () => {
    const page = await chromium.newPage();
    const request = await authRequest(config);
    const { landed } = await openAuthorization(page, request.url);
    await page.waitForSelector('#qr[src^="data:image/svg+xml"]');
    await alice.answer(await readQr(page, '#qr'), 'decline');
    const callback = await landed;
    expect(callback.searchParams.get('error')).to.equal('access_denied');
    expect(callback.searchParams.get('state')).to.equal(request.state);
    await page.close();
  });

  it('third-party consent, then RP-initiated logout: both pages work by their forms alone, within their CSP', async () => {
    const page = await chromium.newPage();
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
    });
    const request = await authRequest(partner, { scope: 'openid profile' });
    const { landed } = await openAuthorization(page, request.url);
    await page.waitForSelector('#qr[src^="data:image/svg+xml"]');
    await alice.answer(await readQr(page, '#qr'));
    await page.waitForSelector('#approve');
    expect(await page.textContent('h1')).to.equal('Partner wants to use your default login');
    await page.click('#approve');
    const callback = await landed;
    const tokens = await oidc.authorizationCodeGrant(partner, callback, {
      pkceCodeVerifier: request.verifier,
      expectedNonce: request.nonce,
      expectedState: request.state,
    });
    expect(tokens.claims()?.sub).to.equal('alice');

    let bye: (url: URL) => void = () => {};
    const back = new Promise<URL>((resolve) => {
      bye = resolve;
    });
    await page.route(`${byeUri}**`, async (route) => {
      bye(new URL(route.request().url()));
      await route.fulfill({ status: 200, contentType: 'text/plain', body: 'RP logged out' });
    });
    const logout = oidc.buildEndSessionUrl(partner, {
      id_token_hint: tokens.id_token ?? '',
      post_logout_redirect_uri: byeUri,
      state: 'bye',
    });
    await page.goto(logout.href);
    await page.click('#logout');
    expect((await back).searchParams.get('state')).to.equal('bye');
    const cookies = await page.context().cookies();
    expect(cookies.find((c) => c.name === 'nextauth_oidc_default')).to.equal(undefined);
    expect(violations).to.deep.equal([]);
    await page.close();
  });
});
