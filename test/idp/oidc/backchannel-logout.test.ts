// OIDC Back-Channel Logout 1.0: a confirmed RP-initiated logout posts a signed logout token to every client
// of the session that registered a back-channel URI, through the allow-listed outbound client; a target the
// allow-list does not cover is never called, and the user's logout stands either way.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
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
} from './harness.js';

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
      if (
        req.method === 'POST' &&
        req.headers['content-type'] === 'application/x-www-form-urlencoded' &&
        token
      )
        tokens.push(token);
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

describe('idp/oidc: back-channel logout', function () {
  this.timeout(90_000);

  /** Alice logs in to `config` in a new browser, then confirms "log me out" from it. */
  async function loginThenLogout(e: Embedded, config: oidc.Configuration, phone: Phone) {
    const b = new Browser(e.url);
    const request = await authRequest(config);
    const callback = await authorize(b, request, phone);
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: request.verifier,
      expectedNonce: request.nonce,
      expectedState: request.state,
    });
    const page = await b.fetch(
      oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token ?? '' }).href,
    );
    const { action, xsrf } = logoutForm(await page.text());
    const done = await confirmLogout(b, action, { xsrf, logout: 'yes' });
    expect(done.status).to.equal(303);
    return tokens;
  }

  describe('to an allow-listed relying party', () => {
    let e: Embedded;
    let rp: Awaited<ReturnType<typeof receiver>>;
    let webapp: oidc.Configuration;
    let alice: Phone;

    before(async () => {
      rp = await receiver();
      e = await startEmbedded({ env: { NEXTAUTH_OUTBOUND_ALLOW: '127.0.0.1' } });
      const { secret } = await e.addClient({
        clientId: 'webapp',
        redirectUris: [redirectUri],
        backchannelLogoutUri: rp.url,
      });
      webapp = await discover(e.issuer, 'webapp', secret);
      alice = await Phone.open(e.url);
      await alice.enrol(e.url, 'alice');
    });
    after(async () => {
      await e?.close();
      await rp?.close();
    });

    it('discovery says back-channel logout is supported, with sid', () => {
      const meta = webapp.serverMetadata();
      expect(meta.backchannel_logout_supported).to.equal(true);
      expect(meta.backchannel_logout_session_supported).to.equal(true);
    });

    it('posts one logout token, signed by the issuer, for this client, user and session', async () => {
      const tokens = await loginThenLogout(e, webapp, alice);
      expect(rp.tokens).to.have.length(1);
      const token = rp.tokens[0] ?? '';
      expect(decodeProtectedHeader(token).typ).to.equal('logout+jwt');
      const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(`${e.issuer}/jwks`)), {
        issuer: e.issuer,
        audience: 'webapp',
        typ: 'logout+jwt',
      });
      expect(payload.sub).to.equal('alice');
      expect(payload.events).to.deep.equal({ 'http://schemas.openid.net/event/backchannel-logout': {} });
      expect(payload.jti).to.be.a('string');
      // The sid is the one the ID token carried, so the RP can end exactly that session; never a nonce.
      const idToken = tokens.claims();
      expect(payload.sid).to.be.a('string').and.equal(idToken?.sid);
      expect(payload).to.not.have.property('nonce');
    });
  });

  it('never calls a target outside the allow-list (loopback), and the logout still stands', async () => {
    const rp = await receiver();
    const e = await startEmbedded();
    try {
      const { secret } = await e.addClient({
        clientId: 'internal',
        redirectUris: [redirectUri],
        backchannelLogoutUri: rp.url,
      });
      const config = await discover(e.issuer, 'internal', secret);
      const alice = await Phone.open(e.url);
      await alice.enrol(e.url, 'alice');
      const tokens = await loginThenLogout(e, config, alice);
      expect(rp.tokens).to.deep.equal([]);
      const userinfo = await fetch(config.serverMetadata().userinfo_endpoint ?? '', {
        headers: { authorization: `Bearer ${tokens.access_token}` },
      });
      expect(userinfo.status).to.equal(401);
    } finally {
      await e.close();
      await rp.close();
    }
  });
});
