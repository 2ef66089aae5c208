// OIDC conformance in the spirit of the OpenID Foundation's oidcc-basic plan (plus RP-initiated and
// back-channel logout), against `nextauth start` as a real process: openid-client is the relying party,
// headless Chromium the browser (the QR read from a screenshot), `nextauth-device` the phone. Runs on every
// deployment kind; with two instances the browser uses one and the phone and the RP the other.

import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import type { Browser, BrowserContext, Frame, Page } from 'playwright-core';
import { launchChromium, readQr } from '../helpers/browser.js';
import { type CliResult, runCli } from '../helpers/cli.js';
import { oauthError, until } from '../helpers/oauth.js';
import { describeEachDeployment, nextauthCli as nextauth } from './deployments.js';

const device = 'mobile-sdk/node/cli/main.ts';
function ok(r: CliResult): CliResult {
  expect(r.code, `exit ${r.code}: ${r.stderr}`).to.equal(0);
  return r;
}

/**
 * The relying party's web server: its redirect URI (`/cb`), post-logout page (`/bye`) and back-channel
 * logout endpoint (`/backchannel`, recording each logout token it is sent).
 */
async function relyingPartyServer(): Promise<{ origin: string; tokens: string[]; close(): Promise<void> }> {
  const tokens: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => {
      const token = new URLSearchParams(body).get('logout_token');
      if (req.method === 'POST' && req.url === '/backchannel' && token) tokens.push(token);
      res.writeHead(200, { 'content-type': 'text/plain' }).end('relying party');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tokens,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

interface AuthRequest {
  url: URL;
  verifier: string;
  nonce: string;
  state: string;
}

async function authRequest(
  config: oidc.Configuration,
  redirectUri: string,
  params: Record<string, string> = {},
): Promise<AuthRequest> {
  const verifier = oidc.randomPKCECodeVerifier();
  const nonce = oidc.randomNonce();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid profile email groups',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    nonce,
    state,
    ...params,
  });
  return { url, verifier, nonce, state };
}

/** A browser tab that remembers every page it showed. */
class Tab {
  readonly shown: string[] = [];

  private constructor(
    readonly page: Page,
    private readonly rpOrigin: string,
  ) {}

  static async open(context: BrowserContext, rpOrigin: string): Promise<Tab> {
    const tab = new Tab(await context.newPage(), rpOrigin);
    tab.page.on('framenavigated', (frame) => {
      if (frame === tab.page.mainFrame()) tab.shown.push(frame.url());
    });
    return tab;
  }

  /** Resolves with the next RP URL the tab is sent to, once that page has loaded. */
  landing(): Promise<URL> {
    const landed = new Promise<URL>((resolve) => {
      const on = (frame: Frame) => {
        if (frame !== this.page.mainFrame() || !frame.url().startsWith(`${this.rpOrigin}/`)) return;
        this.page.off('framenavigated', on);
        resolve(new URL(frame.url()));
      };
      this.page.on('framenavigated', on);
    });
    return landed.then(async (url) => {
      await this.page.waitForLoadState('load');
      return url;
    });
  }
}

describeEachDeployment(
  'e2e: OIDC conformance (oidcc-basic style) with openid-client, Chromium and nextauth-device',
  (deployment) => {
    let chromium: Browser;
    let home: string;
    let issuer: string;
    let rp: oidc.Configuration;
    let bclRp: oidc.Configuration;
    let receiver: Awaited<ReturnType<typeof relyingPartyServer>>;
    let redirectUri: string;
    let byeUri: string;
    let jwks: ReturnType<typeof createRemoteJWKSet>;
    /** The browser with alice's IdP session (after the happy path). */
    let aliceContext: BrowserContext;
    let firstAuthTime: number;

    /** The authorization URL as the browser opens it: on the browser's instance. */
    const forBrowser = (url: URL) => new URL(`${url.pathname}${url.search}`, deployment().browserUrl);

    /** The phone scans the QR on the tab's page and approves with the PIN. */
    async function scanAndApprove(tab: Tab): Promise<void> {
      await tab.page.waitForSelector('#qr[src^="data:image/"]');
      const qrUri = await readQr(tab.page, '#qr');
      expect(qrUri).to.match(/^nextauth:\/\/login\?d=/);
      ok(await runCli(device, ['login', qrUri, '--pin', '1234', '--approve', '--home', home]));
    }

    /** Opens the authorization URL; `login` when the IdP must show its login page first. */
    async function authorize(tab: Tab, request: AuthRequest, login: boolean): Promise<URL> {
      const landed = tab.landing();
      await tab.page.goto(forBrowser(request.url).href);
      if (login) await scanAndApprove(tab);
      return landed;
    }

    const redeem = (config: oidc.Configuration, callback: URL, request: AuthRequest) =>
      oidc.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: request.verifier,
        expectedNonce: request.nonce,
        expectedState: request.state,
      });

    const addClient = async (args: string[]): Promise<string> => {
      const { env, phoneUrl } = deployment();
      const out = ok(
        await runCli(nextauth, ['oidc', 'client', 'add', '--server', 'default', ...args, '--json'], {
          ...env,
          NEXTAUTH_PUBLIC_URL: phoneUrl,
        }),
      );
      return (JSON.parse(out.stdout) as { secret: string }).secret;
    };

    const discover = (clientId: string, secret: string) =>
      oidc.discovery(new URL(issuer), clientId, undefined, oidc.ClientSecretBasic(secret), {
        execute: [oidc.allowInsecureRequests],
      });

    before(async function () {
      chromium = await launchChromium(this);
      const { phoneUrl, env } = deployment();
      issuer = `${phoneUrl}/oidc/default`;
      receiver = await relyingPartyServer();
      redirectUri = `${receiver.origin}/cb`;
      byeUri = `${receiver.origin}/bye`;
      home = await mkdtemp(join(tmpdir(), 'nextauth-device-'));
      ok(await runCli(device, ['init', phoneUrl, '--home', home]));
      const link = ok(
        await runCli(
          nextauth,
          ['user', 'enrol-link', '--server', 'default', '--user', 'alice', '--url', phoneUrl],
          env,
        ),
      );
      ok(await runCli(device, ['enrol', link.stdout.split('\n')[0] ?? '', '--pin', '1234', '--home', home]));
      ok(
        await runCli(
          nextauth,
          [
            'user',
            'set',
            '--server',
            'default',
            '--user',
            'alice',
            '--name',
            'Alice Example',
            '--email',
            'alice@example.org',
            '--group',
            'staff',
            '--url',
            phoneUrl,
          ],
          env,
        ),
      );
      const secret = await addClient([
        '--id',
        'conformance-rp',
        '--redirect-uri',
        redirectUri,
        '--post-logout-redirect-uri',
        byeUri,
      ]);
      rp = await discover('conformance-rp', secret);
      const bclSecret = await addClient([
        '--id',
        'conformance-bcl',
        '--redirect-uri',
        redirectUri,
        '--post-logout-redirect-uri',
        byeUri,
        '--backchannel-logout-uri',
        `${receiver.origin}/backchannel`,
      ]);
      bclRp = await discover('conformance-bcl', bclSecret);
      jwks = createRemoteJWKSet(new URL(rp.serverMetadata().jwks_uri ?? ''));
      aliceContext = await chromium.newContext();
    });

    after(async () => {
      await chromium?.close();
      await receiver?.close();
      if (home) await rm(home, { recursive: true, force: true });
    });

    it('discovery: issuer, RS256, iss parameter, S256, logout endpoints', () => {
      const meta = rp.serverMetadata();
      expect(meta.issuer).to.equal(issuer);
      expect(meta.id_token_signing_alg_values_supported).to.include('RS256');
      expect(meta.authorization_response_iss_parameter_supported).to.equal(true);
      expect(meta.code_challenge_methods_supported).to.include('S256');
      expect(meta.response_types_supported).to.deep.equal(['code']);
      expect(meta.end_session_endpoint).to.equal(`${issuer}/session/end`);
      expect(meta.backchannel_logout_supported).to.equal(true);
    });

    it('happy path: code flow with PKCE, the ID token fully checked, userinfo', async () => {
      const tab = await Tab.open(aliceContext, receiver.origin);
      const request = await authRequest(rp, redirectUri);
      const before = Math.floor(Date.now() / 1000);
      const callback = await authorize(tab, request, true);
      expect(callback.searchParams.get('iss')).to.equal(issuer);
      expect(callback.searchParams.get('state')).to.equal(request.state);
      const tokens = await redeem(rp, callback, request);
      const idToken = tokens.id_token ?? '';
      // Signature through the JWKS, issuer, audience, expiry (jose), then the claims one by one.
      expect(decodeProtectedHeader(idToken).alg).to.equal('RS256');
      const { payload } = await jwtVerify(idToken, jwks, {
        issuer,
        audience: 'conformance-rp',
        algorithms: ['RS256'],
      });
      const now = Math.floor(Date.now() / 1000);
      expect(payload.iss).to.equal(issuer);
      expect([payload.aud].flat()).to.deep.equal(['conformance-rp']);
      expect(payload.exp).to.be.a('number').greaterThan(now);
      expect(payload.iat)
        .to.be.a('number')
        .within(before - 5, now + 5);
      expect(payload.nonce).to.equal(request.nonce);
      expect(payload.auth_time)
        .to.be.a('number')
        .within(before - 5, Number(payload.iat));
      expect(payload.sub).to.equal('alice');
      expect(payload).to.include({ name: 'Alice Example', email: 'alice@example.org' });
      expect(payload.groups).to.deep.equal(['staff']);
      firstAuthTime = Number(payload.auth_time);
      const info = await oidc.fetchUserInfo(rp, tokens.access_token, 'alice');
      expect(info).to.include({ sub: 'alice', name: 'Alice Example' });
      // This browser had no session: the login page was shown on the way.
      expect(tab.shown.some((u) => u.includes('/interaction/'))).to.equal(true);
      await tab.page.close();
    });

    it('prompt=none with an IdP session: a code at once, no page shown', async () => {
      const tab = await Tab.open(aliceContext, receiver.origin);
      const request = await authRequest(rp, redirectUri, { prompt: 'none' });
      const callback = await authorize(tab, request, false);
      expect(callback.searchParams.get('error')).to.equal(null);
      expect(
        tab.shown.filter((u) => !u.startsWith(receiver.origin) && !u.includes('/oidc/default/auth')),
      ).to.deep.equal([]);
      expect(tab.shown.some((u) => u.includes('/interaction/'))).to.equal(false);
      const tokens = await redeem(rp, callback, request);
      expect(tokens.claims()?.sub).to.equal('alice');
      await tab.page.close();
    });

    it('prompt=none without a session: login_required at the RP, with its state', async () => {
      const context = await chromium.newContext();
      const tab = await Tab.open(context, receiver.origin);
      const request = await authRequest(rp, redirectUri, { prompt: 'none' });
      const callback = await authorize(tab, request, false);
      expect(callback.searchParams.get('error')).to.equal('login_required');
      expect(callback.searchParams.get('state')).to.equal(request.state);
      expect(callback.searchParams.get('iss')).to.equal(issuer);
      await context.close();
    });

    it('max_age: within it no login; once exceeded the login is forced and auth_time moves on', async () => {
      const tab = await Tab.open(aliceContext, receiver.origin);
      const within = await authRequest(rp, redirectUri, { max_age: '3600' });
      const quiet = await redeem(rp, await authorize(tab, within, false), within);
      expect(quiet.claims()?.auth_time).to.equal(firstAuthTime);
      // max_age=1 (OIDC Core §3.1.2.1) as oidcc-max-age-1 does: wait until the login is older than that.
      const wait = (firstAuthTime + 2) * 1000 - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const exceeded = await authRequest(rp, redirectUri, { max_age: '1' });
      const shownBefore = tab.shown.length;
      const callback = await authorize(tab, exceeded, true);
      expect(tab.shown.slice(shownBefore).some((u) => u.includes('/interaction/'))).to.equal(true);
      const tokens = await redeem(rp, callback, exceeded);
      expect(tokens.claims()?.auth_time).to.be.a('number').greaterThan(firstAuthTime);
      expect(tokens.claims()?.sub).to.equal('alice');
      await tab.page.close();
    });

    it('code reuse: the second redemption is invalid_grant and the first one’s tokens are revoked', async () => {
      const tab = await Tab.open(aliceContext, receiver.origin);
      const request = await authRequest(rp, redirectUri, { prompt: 'none', scope: 'openid offline_access' });
      const callback = await authorize(tab, request, false);
      const first = await redeem(rp, callback, request);
      expect(first.refresh_token).to.be.a('string');
      expect((await oidc.tokenIntrospection(rp, first.access_token)).active).to.equal(true);
      expect(await oauthError(redeem(rp, callback, request))).to.equal('invalid_grant');
      expect((await oidc.tokenIntrospection(rp, first.access_token)).active).to.equal(false);
      expect(await oauthError(oidc.refreshTokenGrant(rp, first.refresh_token ?? ''))).to.equal(
        'invalid_grant',
      );
      await tab.page.close();
    });

    it('refresh rotation: a new refresh token each time, the used one refused', async () => {
      const tab = await Tab.open(aliceContext, receiver.origin);
      const request = await authRequest(rp, redirectUri, { prompt: 'none', scope: 'openid offline_access' });
      const tokens = await redeem(rp, await authorize(tab, request, false), request);
      const used = tokens.refresh_token ?? '';
      const rotated = await oidc.refreshTokenGrant(rp, used);
      expect(rotated.refresh_token).to.be.a('string').and.not.equal(used);
      expect(rotated.claims()?.sub).to.equal('alice');
      expect((await oidc.tokenIntrospection(rp, rotated.access_token)).active).to.equal(true);
      expect(await oauthError(oidc.refreshTokenGrant(rp, used))).to.equal('invalid_grant');
      await tab.page.close();
    });

    it('RP-initiated logout: the confirmation page, back to the RP with its state, the session gone', async () => {
      const tab = await Tab.open(aliceContext, receiver.origin);
      const request = await authRequest(rp, redirectUri, { prompt: 'none' });
      const tokens = await redeem(rp, await authorize(tab, request, false), request);
      const logout = oidc.buildEndSessionUrl(rp, {
        id_token_hint: tokens.id_token ?? '',
        post_logout_redirect_uri: byeUri,
        state: 'bye-state',
      });
      const back = tab.landing();
      await tab.page.goto(forBrowser(logout).href);
      await tab.page.click('#logout');
      const bye = await back;
      expect(`${bye.origin}${bye.pathname}`).to.equal(byeUri);
      expect(bye.searchParams.get('state')).to.equal('bye-state');
      const again = await authRequest(rp, redirectUri, { prompt: 'none' });
      expect((await authorize(tab, again, false)).searchParams.get('error')).to.equal('login_required');
      await tab.page.close();
    });

    it('back-channel logout: a logout token for the session reaches the local RP', async () => {
      const context = await chromium.newContext();
      const tab = await Tab.open(context, receiver.origin);
      const request = await authRequest(bclRp, redirectUri);
      const tokens = await redeem(bclRp, await authorize(tab, request, true), request);
      const sid = tokens.claims()?.sid;
      expect(sid).to.be.a('string');
      const count = receiver.tokens.length;
      const back = tab.landing();
      await tab.page.goto(
        forBrowser(
          oidc.buildEndSessionUrl(bclRp, {
            id_token_hint: tokens.id_token ?? '',
            post_logout_redirect_uri: byeUri,
          }),
        ).href,
      );
      await tab.page.click('#logout');
      await back;
      const token = await until('the logout token', () => receiver.tokens[count]);
      const { payload, protectedHeader } = await jwtVerify(token, jwks, {
        issuer,
        audience: 'conformance-bcl',
        typ: 'logout+jwt',
      });
      expect(protectedHeader.alg).to.equal('RS256');
      expect(payload.sub).to.equal('alice');
      expect(payload.sid).to.equal(sid);
      expect(payload.events).to.deep.equal({ 'http://schemas.openid.net/event/backchannel-logout': {} });
      expect(payload).to.not.have.property('nonce');
      expect(payload.jti).to.be.a('string');
      expect(decodeJwt(token).iat).to.be.a('number');
      await context.close();
    });

    it('/demo: log in with nextAuth, see alice and her name, log out', async () => {
      const context = await chromium.newContext();
      const page = await context.newPage();
      const violations: string[] = [];
      page.on('console', (m) => {
        if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
      });
      await page.goto(`${deployment().browserUrl}/demo`);
      await page.click('#demo-login');
      await page.waitForSelector('#qr[src^="data:image/"]');
      const qrUri = await readQr(page, '#qr');
      ok(await runCli(device, ['login', qrUri, '--pin', '1234', '--approve', '--home', home]));
      await page.waitForSelector('#demo-user-page');
      expect(await page.textContent('#demo-userid')).to.equal('alice');
      expect(await page.textContent('#demo-name')).to.equal('Alice Example');
      expect(await page.textContent('#demo-hello')).to.equal('You are Alice Example (alice)');
      expect(await page.textContent('#demo-claims')).to.include('"nonce"');
      // Log out: the IdP asks, then the browser is back on the demo's start page.
      await page.click('#demo-logout');
      await page.click('#logout');
      await page.waitForSelector('#demo-login');
      expect(violations).to.deep.equal([]);
      await context.close();
    });
  },
  // The back-channel receiver listens on loopback, which the outbound client refuses unless allowed.
  { env: { NEXTAUTH_OUTBOUND_ALLOW: '127.0.0.1' } },
);
