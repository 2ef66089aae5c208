// Third-party clients (`--third-party`) and their consent page: the user sees what the client asks for and
// allows or denies it; a grant remembers the answer, so only new scopes are asked again; prompt=none without
// consent is consent_required; offline_access needs prompt=consent; first-party clients never see the page.
// The consent form is refused without our Origin, as JSON, with a bad decision, and from another browser.
import { expect } from 'chai';
import * as oidc from 'openid-client';
import { pageCsp } from '../../../idp/interaction/login-routes.js';
import { formPageCsp } from '../../../idp/interaction/oidc-pages.js';
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

describe('idp/oidc: third-party clients and consent', function () {
  this.timeout(60_000);
  let e: Embedded;
  let partner: oidc.Configuration;
  let webapp: oidc.Configuration;
  let alice: Phone;

  before(async () => {
    e = await startEmbedded();
    const p = await e.addClient({
      clientId: 'partner',
      redirectUris: [redirectUri],
      name: 'Partner <App>',
      thirdParty: true,
    });
    partner = await discover(e.issuer, 'partner', p.secret);
    const w = await e.addClient({ clientId: 'webapp', redirectUris: [redirectUri] });
    webapp = await discover(e.issuer, 'webapp', w.secret);
    alice = await Phone.open(e.url);
    await alice.enrol(e.url, 'alice');
  });
  after(() => e?.close());

  const grants = async () =>
    Number(
      (await e.runtime.dbs.idp?.(payloadsTable).where({ model: 'Grant' }).count({ n: '*' }))?.[0]?.n ?? 0,
    );

  /** Logs alice in (when needed) and stops at the consent page. */
  const toConsent = async (b: Browser, request: AuthRequest) => {
    const first = await b.navigate(request.url.href);
    expect(first.leftTo, 'no straight redirect to the RP').to.equal(undefined);
    let page = first;
    if (/data-complete=/.test(await first.res.clone().text())) {
      const done = await qrLogin(b, alice, first.url);
      expect(done.status).to.equal(200);
      page = await b.navigate(((await done.json()) as { location: string }).location);
    }
    expect(page.leftTo).to.equal(undefined);
    expect(page.res.status).to.equal(200);
    const html = await page.res.text();
    expect(html).to.contain('<main id="consent-page">');
    const action = /<form id="consent-form" method="post" action="([^"]+)"/.exec(html)?.[1] ?? '';
    return { html, action, res: page.res };
  };
  const decide = (b: Browser, action: string, body: string, headers: Record<string, string> = {}) =>
    b.fetch(action, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: e.url, ...headers },
      body,
    });
  /** Follows the 303 of a decision back to the RP. */
  const backToRp = async (b: Browser, res: Response) => {
    expect(res.status).to.equal(303);
    const back = await b.navigate(res.headers.get('location') ?? '');
    return new URL(back.leftTo ?? '');
  };
  const exchange = (config: oidc.Configuration, callback: URL, request: AuthRequest) =>
    oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: request.verifier,
      expectedNonce: request.nonce,
      expectedState: request.state,
    });

  it('the consent page names the client, the user and what is asked, in our style with our CSP', async () => {
    const b = new Browser(e.url);
    const { html, action, res } = await toConsent(
      b,
      await authRequest(partner, { scope: 'openid profile email' }),
    );
    // The login page's CSP; the form may end up at the client's redirect_uri (the answer redirects there).
    expect(res.headers.get('content-security-policy')).to.equal(formPageCsp([redirectUri]));
    expect(formPageCsp([redirectUri])).to.equal(
      pageCsp.replace("form-action 'self'", "form-action 'self' http://127.0.0.1:9"),
    );
    expect(res.headers.get('cache-control')).to.contain('no-store');
    expect(html).to.contain('Partner &lt;App&gt; wants to use your default login');
    expect(html).to.contain('You are logged in as alice.');
    const items = [...html.matchAll(/<li>([^<]+)<\/li>/g)].map((m) => m[1]);
    expect(items).to.have.members([
      'know who you are (your user id)',
      'see your name',
      'see your email address',
    ]);
    expect(action).to.match(/^\/oidc\/default\/interaction\/[^/]+\/consent$/);
    expect(html).to.not.match(/<script|<style|style=|https?:\/\//);
  });

  it('allow: the RP gets a code; the next authorization passes without the page; a new scope asks again', async () => {
    const b = new Browser(e.url);
    const request = await authRequest(partner, { scope: 'openid profile' });
    const { action } = await toConsent(b, request);
    const callback = await backToRp(b, await decide(b, action, 'decision=allow'));
    expect(callback.searchParams.get('state')).to.equal(request.state);
    expect((await exchange(partner, callback, request)).claims()?.sub).to.equal('alice');

    const again = await authRequest(partner, { scope: 'openid profile' });
    expect((await exchange(partner, await authorize(b, again), again)).claims()?.sub).to.equal('alice');

    const more = await authRequest(partner, { scope: 'openid profile groups' });
    const asked = await toConsent(b, more);
    expect([...asked.html.matchAll(/<li>([^<]+)<\/li>/g)].map((m) => m[1])).to.deep.equal([
      'see the groups you belong to',
    ]);
  });

  it('deny: the RP gets access_denied with its state; no grant is stored', async () => {
    const b = new Browser(e.url);
    const request = await authRequest(partner);
    const { action } = await toConsent(b, request);
    const before = await grants();
    const callback = await backToRp(b, await decide(b, action, 'decision=deny'));
    expect(callback.searchParams.get('error')).to.equal('access_denied');
    expect(callback.searchParams.get('state')).to.equal(request.state);
    expect(callback.searchParams.get('code')).to.equal(null);
    expect(await grants()).to.equal(before);
  });

  it('prompt=none without consent is consent_required at the RP', async () => {
    const b = new Browser(e.url);
    // An IdP session from the first-party client, then a silent request of the third-party one.
    await authorize(b, await authRequest(webapp), alice);
    const request = await authRequest(partner, { prompt: 'none' });
    const callback = await authorize(b, request);
    expect(callback.searchParams.get('error')).to.equal('consent_required');
    expect(callback.searchParams.get('state')).to.equal(request.state);
  });

  it('offline_access: dropped without prompt=consent, asked for and granted with it', async () => {
    const b = new Browser(e.url);
    const plain = await authRequest(partner, { scope: 'openid offline_access' });
    const first = await toConsent(b, plain);
    expect(first.html).to.not.contain('keep access while you are not using it');
    const tokens = await exchange(
      partner,
      await backToRp(b, await decide(b, first.action, 'decision=allow')),
      plain,
    );
    expect(tokens.refresh_token).to.equal(undefined);

    const consent = await authRequest(partner, { scope: 'openid offline_access', prompt: 'consent' });
    const second = await toConsent(b, consent);
    expect(second.html).to.contain('keep access while you are not using it');
    const callback = await backToRp(b, await decide(b, second.action, 'decision=allow'));
    expect((await exchange(partner, callback, consent)).refresh_token).to.be.a('string');
  });

  it('a first-party client never sees the page, also with prompt=consent', async () => {
    const b = new Browser(e.url);
    await authorize(b, await authRequest(webapp), alice);
    const request = await authRequest(webapp, { prompt: 'consent', scope: 'openid profile' });
    expect((await authorize(b, request)).searchParams.get('code')).to.be.a('string');
  });

  it('refuses the form without our Origin, as JSON, with a bad decision, and from another browser; nothing granted', async () => {
    const b = new Browser(e.url);
    const { action } = await toConsent(b, await authRequest(partner));
    const before = await grants();
    const page = async (res: Response, status: number, error: string) => {
      expect(res.status).to.equal(status);
      expect(res.headers.get('location')).to.equal(null);
      expect(await res.text()).to.contain(`data-error="${error}"`);
    };
    await page(
      await decide(b, action, 'decision=allow', { origin: 'https://evil.example' }),
      403,
      'invalid_request',
    );
    const noOrigin = await b.fetch(action, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'decision=allow',
    });
    await page(noOrigin, 403, 'invalid_request');
    await page(
      await decide(b, action, JSON.stringify({ decision: 'allow' }), { 'content-type': 'application/json' }),
      415,
      'invalid_request',
    );
    await page(await decide(b, action, 'decision=yes'), 400, 'invalid_request');
    await page(await decide(b, action, 'decision=allow&extra=1'), 400, 'invalid_request');
    const oversized = await decide(b, action, `decision=allow&pad=${'x'.repeat(2000)}`);
    expect(oversized.status).to.equal(413);
    expect(oversized.headers.get('location')).to.equal(null);
    await page(await decide(new Browser(e.url), action, 'decision=allow'), 400, 'interaction_expired');
    expect(await grants()).to.equal(before);
    // The page still works for its own browser.
    expect((await decide(b, action, 'decision=allow')).status).to.equal(303);
  });
});
