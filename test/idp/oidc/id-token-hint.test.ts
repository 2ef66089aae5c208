// id_token_hint at the authorization endpoint (OIDC Core §3.1.2.1): with the hinted user's IdP session it
// answers like any SSO; a hint naming someone else than the browser's user never hands out a code for the
// browser's user — nor for whoever else scans the QR —, and a hint the IdP did not sign is refused.
import { expect } from 'chai';
import * as oidc from 'openid-client';
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

describe('idp/oidc: id_token_hint', function () {
  this.timeout(60_000);
  let e: Embedded;
  let webapp: oidc.Configuration;
  let alice: Phone;
  let bob: Phone;
  let aliceBrowser: Browser;
  let aliceIdToken: string;
  let bobIdToken: string;

  const login = async (browser: Browser, phone: Phone): Promise<string> => {
    const request = await authRequest(webapp);
    const tokens = await oidc.authorizationCodeGrant(webapp, await authorize(browser, request, phone), {
      pkceCodeVerifier: request.verifier,
      expectedNonce: request.nonce,
      expectedState: request.state,
    });
    return tokens.id_token ?? '';
  };

  before(async () => {
    e = await startEmbedded();
    const { secret } = await e.addClient({ clientId: 'webapp', redirectUris: [redirectUri] });
    webapp = await discover(e.issuer, 'webapp', secret);
    alice = await Phone.open(e.url);
    await alice.enrol(e.url, 'alice');
    bob = await Phone.open(e.url);
    await bob.enrol(e.url, 'bob');
    aliceBrowser = new Browser(e.url);
    aliceIdToken = await login(aliceBrowser, alice);
    bobIdToken = await login(new Browser(e.url), bob);
  });
  after(() => e?.close());

  it("the hint of the browser's own user with prompt=none: a code for that user, no page", async () => {
    const request = await authRequest(webapp, { prompt: 'none', id_token_hint: aliceIdToken });
    const callback = await authorize(aliceBrowser, request);
    const tokens = await oidc.authorizationCodeGrant(webapp, callback, {
      pkceCodeVerifier: request.verifier,
      expectedNonce: request.nonce,
      expectedState: request.state,
    });
    expect(tokens.claims()?.sub).to.equal('alice');
  });

  it("another user's hint with prompt=none is login_required: no code for the browser's user", async () => {
    const request = await authRequest(webapp, { prompt: 'none', id_token_hint: bobIdToken });
    const callback = await authorize(aliceBrowser, request);
    expect(callback.searchParams.get('error')).to.equal('login_required');
    expect(callback.searchParams.get('code')).to.equal(null);
    expect(callback.searchParams.get('state')).to.equal(request.state);
  });

  it("another user's hint without prompt=none asks for a login instead of reusing the session", async () => {
    const request = await authRequest(webapp, { id_token_hint: bobIdToken });
    const first = await aliceBrowser.navigate(request.url.href);
    expect(first.leftTo).to.equal(undefined);
    expect(first.url).to.match(/\/oidc\/default\/interaction\//);
  });

  it("bob's hint, but alice scans: login_required to the RP, no code and no IdP session for alice", async () => {
    const browser = new Browser(e.url);
    const request = await authRequest(webapp, { id_token_hint: bobIdToken });
    const callback = await authorize(browser, request, alice);
    expect(callback.searchParams.get('error')).to.equal('login_required');
    expect(callback.searchParams.get('code')).to.equal(null);
    const sso = await authRequest(webapp, { prompt: 'none' });
    expect((await authorize(browser, sso)).searchParams.get('error')).to.equal('login_required');
  });

  it("bob's hint and bob scans: a code for bob", async () => {
    const request = await authRequest(webapp, { id_token_hint: bobIdToken });
    const callback = await authorize(new Browser(e.url), request, bob);
    const tokens = await oidc.authorizationCodeGrant(webapp, callback, {
      pkceCodeVerifier: request.verifier,
      expectedNonce: request.nonce,
      expectedState: request.state,
    });
    expect(tokens.claims()?.sub).to.equal('bob');
  });

  it('a hint that is not signed by this issuer is refused and logs no one in', async () => {
    const [header, payload] = aliceIdToken.split('.');
    const forged = `${header}.${payload}.${'A'.repeat(342)}`;
    const request = await authRequest(webapp, { prompt: 'none', id_token_hint: forged });
    const first = await aliceBrowser.navigate(request.url.href);
    const back = first.leftTo ? new URL(first.leftTo) : undefined;
    expect(back?.searchParams.get('code') ?? null).to.equal(null);
    if (back) expect(back.searchParams.get('error')).to.equal('invalid_request');
    else expect(first.res.status).to.be.within(400, 499);
  });
});
