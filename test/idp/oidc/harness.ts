// OIDC suites: the embedded runtime in-process, a cookie-keeping "browser" that follows the QR login
// interaction like views/static/login.js does, and a phone that is the real mobile SDK over WebSockets.
import { expect } from 'chai';
import * as oidc from 'openid-client';
import { type Clock, systemClock } from '../../../auth-server/common/clock.js';
import { createClientRepository, type NewClient } from '../../../idp/oidc/clients.js';
import type { Runtime } from '../../../idp/runtime/runtime.js';
import { fetchSdkConfig } from '../../../mobile-sdk/core/config/index.js';
import { driveFlow } from '../../../mobile-sdk/core/flows/drive.js';
import type { ConfirmDecision } from '../../../mobile-sdk/core/flows/types.js';
import { NextAuthSdk } from '../../../mobile-sdk/core/sdk.js';
import { wsTransportFactory } from '../../../mobile-sdk/node/ws-transport.js';
import { startTestRuntime } from '../../helpers/runtime.js';
import { MemoryKeyStore, MemoryStorage } from '../../mobile-sdk/fakes.js';

export const rootApiKey = 'oidc-test-root-api-key-0123456789';
/** Never contacted: the test reads the code from the redirect's Location. */
export const redirectUri = 'http://127.0.0.1:9/cb';

export interface Embedded {
  runtime: Runtime;
  url: string;
  issuer: string;
  dataDir: string;
  addClient(client: Omit<NewClient, 'server'> & { server?: string }): Promise<{ secret?: string }>;
  close(): Promise<void>;
}

/** `nextauth start` in-process on loopback ports, with a temporary data directory. */
export async function startEmbedded(
  options: { env?: Record<string, string>; clock?: Clock } = {},
): Promise<Embedded> {
  const started = await startTestRuntime({
    services: ['ns', 'sfs', 'mc', 'idp'],
    env: { NEXTAUTH_NS_ROOT_API_KEY: rootApiKey, ...options.env },
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const { runtime, url } = started;
  const idpDb = runtime.dbs.idp;
  const secretKey = runtime.config.secretKey;
  if (!idpDb || secretKey === undefined) throw new Error('runtime without IdP database or secret key');
  const clients = createClientRepository({
    knex: idpDb,
    secretKey,
    clock: systemClock,
    random: { bytes: (n) => crypto.getRandomValues(new Uint8Array(n)) },
  });
  return {
    ...started,
    issuer: `${url}/oidc/default`,
    async addClient(client) {
      const { secret } = await clients.add({ server: 'default', ...client });
      return secret !== undefined ? { secret } : {};
    },
  };
}

interface StoredCookie {
  name: string;
  value: string;
  path: string;
}

/** Enough of a browser for redirects and cookies (path-scoped, Max-Age=0 deletes); no JavaScript. */
export class Browser {
  readonly cookies: StoredCookie[] = [];

  constructor(readonly origin: string) {}

  cookieHeader(url: URL): string {
    return this.cookies
      .filter(
        (c) =>
          url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`),
      )
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  cookie(name: string): string | undefined {
    return this.cookies.find((c) => c.name === name)?.value;
  }

  #store(url: URL, header: string): void {
    const [pair = '', ...attributes] = header.split(';').map((s) => s.trim());
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    let path = url.pathname.replace(/\/[^/]*$/, '') || '/';
    let expired = false;
    for (const attribute of attributes) {
      const [key = '', val = ''] = attribute.split('=');
      if (/^path$/i.test(key)) path = val;
      if (/^max-age$/i.test(key) && Number(val) <= 0) expired = true;
      if (/^expires$/i.test(key) && Date.parse(val) < Date.now()) expired = true;
    }
    const i = this.cookies.findIndex((c) => c.name === name && c.path === path);
    if (i >= 0) this.cookies.splice(i, 1);
    if (!expired) this.cookies.push({ name, value, path });
  }

  /** One request, no redirect following; stores Set-Cookie. */
  async fetch(target: string, init: RequestInit = {}): Promise<Response> {
    const url = new URL(target, this.origin);
    const headers = new Headers(init.headers);
    const cookie = this.cookieHeader(url);
    if (cookie) headers.set('cookie', cookie);
    headers.set('user-agent', 'oidc-test-browser/1.0');
    headers.set('accept', headers.get('accept') ?? 'text/html,application/json');
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const setCookie of res.headers.getSetCookie()) this.#store(url, setCookie);
    return res;
  }

  /** Follows redirects on this origin; stops at the first one that leaves it (the RP callback). */
  async navigate(target: string): Promise<{ res: Response; url: string; leftTo?: string }> {
    let url = new URL(target, this.origin).href;
    for (let hops = 0; hops < 10; hops++) {
      const res = await this.fetch(url);
      const location = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || !location) return { res, url };
      const next = new URL(location, url);
      if (next.origin !== this.origin) return { res, url, leftTo: next.href };
      url = next.href;
    }
    throw new Error('too many redirects');
  }

  async postJson(target: string, body: unknown = {}): Promise<Response> {
    return this.fetch(target, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  }
}

/** A phone: the mobile SDK with in-memory keys, talking to the embedded server over WebSockets. */
export class Phone {
  private constructor(readonly sdk: NextAuthSdk) {}

  static async open(url: string): Promise<Phone> {
    const sdk = await NextAuthSdk.open({
      keyStore: new MemoryKeyStore(),
      storage: new MemoryStorage(),
      transports: wsTransportFactory({ userAgent: 'oidc-test-phone/1.0' }),
      deviceDescription: 'OIDC test phone',
      clientVersion: 'oidc-test-phone/1.0',
    });
    const fetched = await fetchSdkConfig(url, { clock: { now: () => Date.now() } });
    await sdk.configure(fetched.jws, { publisherKey: fetched.publisherKey });
    return new Phone(sdk);
  }

  async enrol(url: string, userid: string, pin = '1234'): Promise<void> {
    const res = await fetch(`${url}/ns/api/v2/enrol-links`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-apikey': rootApiKey },
      body: JSON.stringify({ server: 'default', userid }),
    });
    expect(res.status, await res.clone().text()).to.equal(201);
    const { uri } = (await res.json()) as { uri: string };
    await driveFlow(this.sdk.startEnrol(uri), {
      confirm: async () => 'approve',
      newPin: async () => pin,
      pin: async () => pin,
    });
  }

  async answer(qrUri: string, decision: ConfirmDecision = 'approve', pin = '1234'): Promise<void> {
    await driveFlow(this.sdk.startLogin(qrUri), {
      confirm: async () => decision,
      newPin: async () => pin,
      pin: async () => pin,
    });
  }
}

/** What login.js does on the interaction page: NS session, QR, (phone), then `complete`. */
export async function qrLogin(
  browser: Browser,
  phone: Phone,
  interactionUrl: string,
  decision: ConfirmDecision = 'approve',
): Promise<Response> {
  const page = await browser.fetch(interactionUrl);
  expect(page.status).to.equal(200);
  const html = await page.text();
  const complete = /data-complete="([^"]+)"/.exec(html)?.[1];
  expect(complete, 'interaction page names its complete URL').to.be.a('string');
  const started = await browser.postJson('/ns/servers/default/browser-session');
  expect(started.status).to.be.oneOf([200, 201]);
  const qr = await browser.fetch('/ns/servers/default/session/qr');
  expect(qr.status).to.equal(200);
  const { qrUri } = (await qr.json()) as { qrUri: string };
  await phone.answer(qrUri, decision);
  return browser.postJson(complete ?? '');
}

export interface AuthRequest {
  url: URL;
  verifier: string;
  nonce: string;
  state: string;
}

/** An authorization request as an RP builds it: code + PKCE (S256), nonce, state. */
export async function authRequest(
  config: oidc.Configuration,
  params: Record<string, string> = {},
): Promise<AuthRequest> {
  const verifier = oidc.randomPKCECodeVerifier();
  const nonce = oidc.randomNonce();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    nonce,
    state,
    ...params,
  });
  return { url, verifier, nonce, state };
}

/** The RP's view of the provider (plain http is fine on loopback in tests). */
export function discover(issuer: string, clientId: string, secret?: string): Promise<oidc.Configuration> {
  return oidc.discovery(new URL(issuer), clientId, secret, secret === undefined ? oidc.None() : undefined, {
    execute: [oidc.allowInsecureRequests],
  });
}

/**
 * Runs the browser side of an authorization: straight back to the RP when the IdP session suffices,
 * otherwise through the QR login with `phone`. Returns the callback URL the RP receives.
 */
export async function authorize(
  browser: Browser,
  request: AuthRequest,
  phone?: Phone,
  decision: ConfirmDecision = 'approve',
): Promise<URL> {
  const first = await browser.navigate(request.url.href);
  if (first.leftTo) return new URL(first.leftTo);
  expect(first.url, 'an interaction page').to.match(/\/oidc\/default\/interaction\//);
  if (!phone) throw new Error('a login is needed but no phone was given');
  const done = await qrLogin(browser, phone, first.url, decision);
  expect(done.status, await done.clone().text()).to.equal(200);
  const { location } = (await done.json()) as { location: string };
  const back = await browser.navigate(location);
  if (!back.leftTo) throw new Error(`no redirect to the RP (status ${back.res.status})`);
  return new URL(back.leftTo);
}

/** The logout page's form: where it posts and its CSRF token. */
export function logoutForm(html: string): { action: string; xsrf: string } {
  const action = /<form id="op.logoutForm" method="post" action="([^"]+)"/.exec(html)?.[1] ?? '';
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
  return { action, xsrf };
}

/** Posts the logout page's form as the browser does. */
export function confirmLogout(b: Browser, action: string, fields: Record<string, string>): Promise<Response> {
  return b.fetch(action, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields),
  });
}
