// OIDC on the IdP session, with openid-client as the RP and the SDK as the phone: a login at the front-door
// page (as SAML or forward-auth send browsers there) logs the browser into OIDC without a QR, unless
// prompt=login, max_age or id_token_hint say otherwise; an OIDC login makes the IdP session the other front
// doors see; RP-initiated logout ends the IdP session; the IdP session ending elsewhere ends the
// oidc-provider session with its back-channel logout token.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { decodeJwt } from 'jose';
import type { Context } from 'koa';
import * as oidc from 'openid-client';
import { completeBody, frontDoorQrLogin } from '../interaction/front-door-harness.js';
import {
  authorize,
  authRequest,
  Browser,
  confirmLogout,
  discover,
  type Embedded,
  logoutForm,
  Phone,
  redirectUri,
  startEmbedded,
} from '../oidc/harness.js';

const cookie = 'nextauth_idp_default';

/** A relying party's back-channel endpoint: records each logout token it is sent. */
async function receiver(): Promise<{ url: string; tokens: string[]; close(): Promise<void> }> {
  const tokens: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => {
      const token = new URLSearchParams(body).get('logout_token');
      if (req.method === 'POST' && token) tokens.push(token);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/backchannel`,
    tokens,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** What the IdP session service sees of a browser (its cookie). */
const asContext = (b: Browser) =>
  ({ cookies: { get: (name: string) => b.cookie(name) }, append() {} }) as unknown as Context;

describe('idp/session: OIDC on the IdP session', function () {
  this.timeout(90_000);
  let e: Embedded;
  let rp: Awaited<ReturnType<typeof receiver>>;
  let webapp: oidc.Configuration;
  let alice: Phone;
  let bob: Phone;
  let offset = 0;

  before(async () => {
    rp = await receiver();
    e = await startEmbedded({
      env: { NEXTAUTH_OUTBOUND_ALLOW: '127.0.0.1' },
      clock: { now: () => Date.now() + offset },
    });
    const { secret } = await e.addClient({
      clientId: 'webapp',
      redirectUris: [redirectUri],
      backchannelLogoutUri: rp.url,
    });
    webapp = await discover(e.issuer, 'webapp', secret);
    alice = await Phone.open(e.url);
    await alice.enrol(e.url, 'alice');
    bob = await Phone.open(e.url);
    await bob.enrol(e.url, 'bob');
  });
  afterEach(() => {
    offset = 0;
    rp.tokens.length = 0;
  });
  after(async () => {
    await e?.close();
    await rp?.close();
  });

  const sessions = () => {
    const s = e.runtime.idpSessions;
    if (!s) throw new Error('runtime without IdP sessions');
    return s;
  };

  /** A browser logged in at the front-door page (no OIDC yet). */
  const frontDoorLogin = async (phone = alice, b = new Browser(e.url)) => {
    const data = await frontDoorQrLogin(b, phone, '/login/default?return_to=%2Fdemo');
    const done = await b.postJson(data.complete, completeBody(data));
    expect(done.status, await done.clone().text()).to.equal(200);
    return b;
  };

  /** Runs the code flow in `b` (QR only if `phone` and needed); the tokens. */
  const codeFlow = async (b: Browser, params: Record<string, string> = {}, phone?: Phone) => {
    const request = await authRequest(webapp, params);
    const callback = await authorize(b, request, phone);
    return oidc.authorizationCodeGrant(webapp, callback, {
      pkceCodeVerifier: request.verifier,
      expectedNonce: request.nonce,
      expectedState: request.state,
    });
  };

  /** Where the browser lands for an authorization request: the RP (SSO) or the interaction page (QR). */
  const landing = async (b: Browser, params: Record<string, string> = {}) => {
    const request = await authRequest(webapp, params);
    const { leftTo, url } = await b.navigate(request.url.href);
    return leftTo ? 'rp' : url.includes('/interaction/') ? 'qr' : 'other';
  };

  it('logs a browser with an IdP session from the front-door page into OIDC without a QR', async () => {
    const b = await frontDoorLogin();
    const idp = await sessions().current(asContext(b), 'default');
    const tokens = await codeFlow(b);
    const claims = tokens.claims();
    expect(claims?.sub).to.equal('alice');
    expect(claims?.amr).to.deep.equal(['swk', 'pin']);
    expect(claims?.auth_time).to.equal(idp?.authTime);
    // The oidc-provider session joined the IdP session.
    const participants = idp ? await sessions().participants(idp) : [];
    expect(participants.map((p) => p.protocol)).to.deep.equal(['oidc']);
  });

  it('an OIDC login with the QR makes the IdP session that the front-door page then honours', async () => {
    const b = new Browser(e.url);
    await codeFlow(b, {}, alice);
    expect(await sessions().current(asContext(b), 'default')).to.deep.include({ userid: 'alice' });
    const back = await b.fetch('/login/default?return_to=%2Fdemo');
    expect(back.status).to.equal(303);
  });

  it('still shows the QR for prompt=login, or an id_token_hint of another user', async () => {
    const b = await frontDoorLogin();
    expect(await landing(b, { prompt: 'login' })).to.equal('qr');
    const aliceTokens = await codeFlow(new Browser(e.url), {}, alice);
    const bobs = await frontDoorLogin(bob);
    expect(await landing(bobs, { id_token_hint: aliceTokens.id_token ?? '' })).to.equal('qr');
    expect(await landing(bobs)).to.equal('rp');
  });

  it('still shows the QR when the IdP session is older than max_age', async () => {
    // The login happened ten minutes ago as the IdP sees it (oidc-provider keeps real time).
    offset = -600_000;
    const b = await frontDoorLogin();
    offset = 0;
    expect(await landing(b, { max_age: '300' })).to.equal('qr');
    expect(await landing(b, { max_age: '3600' })).to.equal('rp');
  });

  it('RP-initiated logout ends the IdP session (one back-channel token, not two)', async () => {
    const b = await frontDoorLogin();
    const secret = b.cookie(cookie);
    const tokens = await codeFlow(b);
    const page = await b.fetch(
      oidc.buildEndSessionUrl(webapp, { id_token_hint: tokens.id_token ?? '' }).href,
    );
    const { action, xsrf } = logoutForm(await page.text());
    expect((await confirmLogout(b, action, { xsrf, logout: 'yes' })).status).to.equal(303);
    expect(b.cookie(cookie)).to.equal(undefined);
    expect(rp.tokens).to.have.length(1);
    // The session is over on the server: its cookie replayed finds nothing, and the NS login ended too.
    const replay = new Browser(e.url);
    replay.cookies.push({ name: cookie, value: String(secret), path: '/' });
    expect(await sessions().current(asContext(replay), 'default')).to.equal(undefined);
    expect((await replay.fetch('/login/default?return_to=%2Fdemo')).status).to.equal(200);
    const ns = (await (await b.fetch('/ns/servers/default/session')).json()) as { state: string };
    expect(ns.state).to.equal('loggedout');
  });

  it('the IdP session ending elsewhere ends the OIDC session, with its back-channel logout token', async () => {
    const b = await frontDoorLogin();
    const idp = await sessions().current(asContext(b), 'default');
    const tokens = await codeFlow(b);
    if (!idp) throw new Error('no IdP session');
    // As SAML single logout would end it.
    await sessions().end(idp, 'saml_logout');
    expect(rp.tokens).to.have.length(1);
    const logoutToken = decodeJwt(rp.tokens[0] ?? '');
    expect(logoutToken).to.deep.include({ sub: 'alice', aud: 'webapp', sid: tokens.claims()?.sid });
    // The grant is revoked, and the browser is logged out of OIDC too.
    const userinfo = await fetch(webapp.serverMetadata().userinfo_endpoint ?? '', {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(userinfo.status).to.equal(401);
    const request = await authRequest(webapp, { prompt: 'none' });
    const callback = await authorize(b, request);
    expect(callback.searchParams.get('error')).to.equal('login_required');
  });

  it('an oidc-provider session whose IdP session expired needs a new login', async () => {
    const b = new Browser(e.url);
    await codeFlow(b, {}, alice);
    expect(await landing(b)).to.equal('rp');
    // Past the idle timeout (1 h) as the IdP sees it; oidc-provider's own session (8 h) still lives.
    offset = 2 * 3600_000;
    const request = await authRequest(webapp, { prompt: 'none' });
    const callback = await authorize(b, request);
    expect(callback.searchParams.get('error')).to.equal('login_required');
    expect(await landing(b)).to.equal('qr');
  });

  describe('GET|POST /logout', () => {
    const post = (
      b: Browser,
      origin: string | undefined = e.url,
      type = 'application/x-www-form-urlencoded',
    ) =>
      b.fetch('/logout', {
        method: 'POST',
        headers: { 'content-type': type, ...(origin ? { origin } : {}) },
        body: 'logout=yes',
      });

    it('GET asks first (the #logout button posts the form), or says logged out when there is no session', async () => {
      const none = await new Browser(e.url).fetch('/logout');
      expect(none.status).to.equal(200);
      expect(await none.text()).to.contain('id="loggedout"');
      const b = await frontDoorLogin();
      const page = await b.fetch('/logout', { headers: { 'accept-language': 'nl' } });
      expect(page.status).to.equal(200);
      expect(page.headers.get('content-security-policy')).to.contain("form-action 'self'");
      const html = await page.text();
      expect(html).to.match(/<form id="logout-form" method="post" action="\/logout">/);
      expect(html).to.match(/<button id="logout" type="submit"/);
      expect(html).to.contain('Wil je uitloggen?');
      // Asking changed nothing.
      expect(await sessions().current(asContext(b), 'default')).to.not.equal(undefined);
    });

    it('POST from another origin, without Origin, or not as a form changes nothing', async () => {
      const b = await frontDoorLogin();
      expect((await post(b, 'https://evil.example')).status).to.equal(403);
      expect((await post(b, '')).status).to.equal(403);
      expect((await post(b, e.url, 'application/json')).status).to.equal(415);
      expect(await sessions().current(asContext(b), 'default')).to.deep.include({ userid: 'alice' });
    });

    describe('?return_to= (an app\'s "log out" link)', () => {
      /** A protected app on the IdP's host (another port): a forward-auth return_to the login accepts too. */
      const app = 'http://127.0.0.1:9/after?x=1';
      const postWith = (b: Browser, fields: Record<string, string>) =>
        b.fetch('/logout', {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', origin: e.url },
          body: new URLSearchParams({ logout: 'yes', ...fields }).toString(),
        });

      it('the confirmation carries it, the POST ends the session and goes back there', async () => {
        const b = await frontDoorLogin();
        const page = await b.fetch(`/logout?return_to=${encodeURIComponent(app)}`);
        expect(page.status).to.equal(200);
        // Browsers apply form-action to the form's redirect as well.
        expect(page.headers.get('content-security-policy')).to.match(
          /form-action 'self' http:\/\/127\.0\.0\.1:9$/,
        );
        const hidden = /<input type="hidden" name="return_to" value="([^"]*)">/.exec(await page.text());
        expect(hidden?.[1]?.replaceAll('&amp;', '&')).to.equal(app);
        const res = await postWith(b, { return_to: app });
        expect(res.status).to.equal(303);
        expect(res.headers.get('location')).to.equal(app);
        expect(b.cookie(cookie)).to.equal(undefined);
        expect(await sessions().current(asContext(b), 'default')).to.equal(undefined);
      });

      it('a path of the IdP is fine; without a session GET goes straight back', async () => {
        const none = await new Browser(e.url).fetch('/logout?return_to=%2Fdemo');
        expect(none.status).to.equal(303);
        expect(none.headers.get('location')).to.equal(`${e.url}/demo`);
        const b = await frontDoorLogin();
        const res = await postWith(b, { return_to: '/demo' });
        expect(res.status).to.equal(303);
        expect(res.headers.get('location')).to.equal(`${e.url}/demo`);
      });

      const refused = [
        'https://evil.example/',
        'http://localhost:9/',
        '//evil.example/x',
        '/\\evil.example',
        '/\t/evil.example',
        'javascript:alert(1)',
        'data:text/html,hi',
        'http://127.0.0.1@evil.example/',
        'http://127.0.0.1:9\\@evil.example/',
        `http://127.0.0.1:9/${'a'.repeat(2100)}`,
      ];

      it('GET refuses every unsafe return_to with a 400 page and no redirect', async () => {
        const b = await frontDoorLogin();
        for (const target of refused) {
          const res = await b.fetch(`/logout?return_to=${encodeURIComponent(target)}`);
          expect(res.status, target).to.equal(400);
          expect(res.headers.get('location'), target).to.equal(null);
          expect(await res.text()).to.contain('return_to');
        }
        expect(await sessions().current(asContext(b), 'default')).to.deep.include({ userid: 'alice' });
      });

      it('POST refuses them too, before anything ends; unknown fields are refused as well', async () => {
        const b = await frontDoorLogin();
        for (const target of refused) {
          const res = await postWith(b, { return_to: target });
          expect(res.status, target).to.equal(400);
          expect(res.headers.get('location'), target).to.equal(null);
        }
        expect((await postWith(b, { next: app })).status).to.equal(400);
        // Nothing ended: the session, its cookie and the NS login live on.
        expect(b.cookie(cookie)).to.not.equal(undefined);
        expect(await sessions().current(asContext(b), 'default')).to.deep.include({ userid: 'alice' });
        const ns = (await (await b.fetch('/ns/servers/default/session')).json()) as { state: string };
        expect(ns.state).to.equal('loggedin');
      });
    });

    it('POST ends the IdP session and OIDC with it (back-channel token); the replayed cookie gets nothing', async () => {
      const b = await frontDoorLogin();
      const tokens = await codeFlow(b);
      const secret = String(b.cookie(cookie));
      // A cookie of a server the browser no longer has a session at is cleared too.
      b.cookies.push({ name: 'nextauth_idp_acme', value: 'stale', path: '/' });
      const res = await post(b);
      expect(res.status).to.equal(200);
      expect(await res.text()).to.contain('id="loggedout"');
      expect(b.cookie(cookie)).to.equal(undefined);
      expect(b.cookie('nextauth_idp_acme')).to.equal(undefined);
      expect(rp.tokens).to.have.length(1);
      expect(decodeJwt(rp.tokens[0] ?? '')).to.deep.include({ sub: 'alice', aud: 'webapp' });
      const userinfo = await fetch(webapp.serverMetadata().userinfo_endpoint ?? '', {
        headers: { authorization: `Bearer ${tokens.access_token}` },
      });
      expect(userinfo.status).to.equal(401);
      // The browser's NS login session ended with it (the phone's app is told).
      const ns = (await (await b.fetch('/ns/servers/default/session')).json()) as { state: string };
      expect(ns.state).to.equal('loggedout');
      // Replayed: no session for the front doors, and OIDC wants a login.
      const replay = new Browser(e.url);
      replay.cookies.push({ name: cookie, value: secret, path: '/' });
      expect(await sessions().current(asContext(replay), 'default')).to.equal(undefined);
      expect((await replay.fetch('/login/default?return_to=%2Fdemo')).status).to.equal(200);
      const request = await authRequest(webapp, { prompt: 'none' });
      expect((await authorize(b, request)).searchParams.get('error')).to.equal('login_required');
    });
  });
});
