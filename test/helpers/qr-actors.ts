// The two sides of a QR login for system tests against a running deployment, over HTTP only:
// - a phone: the mobile SDK core over its ws transport (keys in memory), its connections sent to an origin
//   of the test's choice (e.g. one instance) whatever the QR code and SDK configuration name;
// - a browser: the NS browser endpoints as the login page uses them (cookie, QR URI, SSE), and the OIDC
//   code flow through the IdP's interaction page, as bench/scenarios/oidc.ts drives it.
import { createHash, randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import { driveFlow, type FlowAnswerer } from '../../mobile-sdk/core/flows/drive.js';
import { NextAuthSdk } from '../../mobile-sdk/core/sdk.js';
import { DEFAULT_MAX_FRAME_BYTES, type PublicJwk, webSocketTransport } from '../../protocol/index.js';
import { MemoryKeyStore, MemoryStorage } from '../mobile-sdk/fakes.js';

export const PIN = '4711';

const answerer: FlowAnswerer = {
  confirm: async () => 'approve',
  newPin: async () => PIN,
  pin: async () => PIN,
};

let addressCounter = Math.floor(Math.random() * 50_000);
/** A client address per login (X-Forwarded-For, trusted by the instances): per-IP limits stay on. */
export const nextAddress = (): string => {
  const n = ++addressCounter;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
};

export interface Phone {
  sdk: NextAuthSdk;
  /** Where its connections go now (an origin like http://127.0.0.1:1234); changeable between logins. */
  origin: string;
  enrol(enrolUri: string): Promise<void>;
  login(qrUri: string): Promise<void>;
}

export async function openPhone(
  sdkConfig: { config: string; publisherKey: PublicJwk },
  origin: string,
): Promise<Phone> {
  const phone = { origin } as Phone;
  phone.sdk = await NextAuthSdk.open({
    keyStore: new MemoryKeyStore(),
    storage: new MemoryStorage(),
    transports: (url) => {
      const target = new URL(url);
      const via = new URL(phone.origin);
      target.host = via.host;
      return webSocketTransport(
        new WebSocket(target.href, {
          maxPayload: DEFAULT_MAX_FRAME_BYTES,
          perMessageDeflate: false,
          headers: { 'user-agent': 'topology-phone/1.0', 'x-forwarded-for': nextAddress() },
        }),
      );
    },
    deviceDescription: 'topology test phone',
    clientVersion: 'topology-test/1.0',
  });
  await phone.sdk.configure(sdkConfig.config, { publisherKey: sdkConfig.publisherKey });
  phone.enrol = async (uri) => {
    await driveFlow(phone.sdk.startEnrol(uri), answerer);
  };
  phone.login = async (qrUri) => {
    await driveFlow(phone.sdk.startLogin(qrUri), answerer);
  };
  return phone;
}

export async function enrolLink(publicUrl: string, rootKey: string, server: string, userid: string) {
  const res = await fetch(`${publicUrl}/ns/api/v2/enrol-links`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-apikey': rootKey, 'x-forwarded-for': nextAddress() },
    body: JSON.stringify({ server, userid }),
  });
  if (res.status !== 201) throw new Error(`enrol link: HTTP ${res.status} ${await res.text()}`);
  return ((await res.json()) as { uri: string }).uri;
}

/** A cookie jar for one browser (cookie names are unique per server here, so paths are not tracked). */
export class Jar {
  private readonly cookies = new Map<string, string>();
  take(res: Response): Response {
    for (const line of res.headers.getSetCookie()) {
      const pair = line.split(';')[0] ?? '';
      const eq = pair.indexOf('=');
      const value = pair.slice(eq + 1);
      if (value === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(line))
        this.cookies.delete(pair.slice(0, eq));
      else this.cookies.set(pair.slice(0, eq), value);
    }
    return res;
  }
  get header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

export interface LoginStatusBody {
  state: string;
  loggedin: boolean;
  userid?: string;
}

/** One browser's NS login session on `origin`. */
export class Browser {
  readonly jar = new Jar();
  readonly ip = nextAddress();
  /** The haproxy servers that answered this browser (x-served-by). */
  readonly servedBy: string[] = [];
  constructor(
    readonly origin: string,
    readonly server: string,
  ) {}

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return {
      'user-agent': 'topology-browser/1.0',
      'x-forwarded-for': this.ip,
      cookie: this.jar.header,
      ...extra,
    };
  }

  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const res = await fetch(`${path.startsWith('http') ? '' : this.origin}${path}`, {
      redirect: 'manual',
      ...init,
      headers: this.headers((init.headers ?? {}) as Record<string, string>),
    });
    const by = res.headers.get('x-served-by');
    if (by) this.servedBy.push(by);
    return this.jar.take(res);
  }

  /** Starts the login session and returns the QR URI. */
  async start(): Promise<string> {
    const created = await this.fetch(`/ns/servers/${this.server}/browser-session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    if (created.status !== 201)
      throw new Error(`browser-session: HTTP ${created.status} ${await created.text()}`);
    const qr = await this.fetch(`/ns/servers/${this.server}/session/qr`);
    if (qr.status !== 200) throw new Error(`qr: HTTP ${qr.status} ${await qr.text()}`);
    return ((await qr.json()) as { qrUri: string }).qrUri;
  }

  async status(): Promise<LoginStatusBody> {
    const res = await this.fetch(`/ns/servers/${this.server}/session`);
    if (res.status !== 200) throw new Error(`session: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as LoginStatusBody;
  }

  /**
   * Opens the SSE stream; resolves once the first `state` event arrived (the instance has subscribed by
   * then). `final` resolves with the first state for which `until` holds (default: a final login state).
   */
  async events(
    until: (s: LoginStatusBody) => boolean = (s) => s.state !== 'waiting' && s.state !== 'scanned',
  ): Promise<{
    servedBy: string | null;
    final: Promise<LoginStatusBody>;
    states: LoginStatusBody[];
    close(): void;
  }> {
    const controller = new AbortController();
    const res = await this.fetch(`/ns/servers/${this.server}/session/events`, { signal: controller.signal });
    if (res.status !== 200 || !res.body) throw new Error(`events: HTTP ${res.status}`);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    const states: LoginStatusBody[] = [];
    let buffer = '';
    let first: (() => void) | undefined;
    const opened = new Promise<void>((resolve) => {
      first = resolve;
    });
    const final = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`events ended before the final state (${JSON.stringify(states)})`);
        buffer += value;
        for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = /^event: state\ndata: (.*)$/m.exec(block)?.[1];
          if (data === undefined) continue;
          const state = JSON.parse(data) as LoginStatusBody;
          states.push(state);
          first?.();
          if (until(state)) {
            controller.abort();
            return state;
          }
        }
      }
    })();
    // A stream that failed before its first event must not leave `opened` waiting.
    await Promise.race([opened, final]);
    return { servedBy: res.headers.get('x-served-by'), final, states, close: () => controller.abort() };
  }
}

export const b64url = (b: Buffer): string => b.toString('base64url');

/** An OIDC authorization request with PKCE (S256); the verifier is needed to redeem the code. */
export function authorizeRequest(
  issuerPath: string,
  client: { id: string; redirectUri: string },
): { path: string; verifier: string } {
  const verifier = b64url(randomBytes(32));
  const params = new URLSearchParams({
    client_id: client.id,
    response_type: 'code',
    redirect_uri: client.redirectUri,
    scope: 'openid',
    state: b64url(randomBytes(12)),
    nonce: b64url(randomBytes(12)),
    code_challenge: b64url(createHash('sha256').update(verifier).digest()),
    code_challenge_method: 'S256',
  });
  return { path: `${issuerPath}/auth?${params}`, verifier };
}

/**
 * The whole OIDC code flow through the QR login page, as views/static/login.js and a browser do it:
 * authorize → interaction page → NS login session → the phone scans → complete → back to the client.
 * Returns the authorization code and its PKCE verifier.
 */
export async function oidcCode(
  browser: Browser,
  phone: Phone,
  client: { id: string; redirectUri: string },
): Promise<{ code: string; verifier: string }> {
  const { path, verifier } = authorizeRequest(`/oidc/${browser.server}`, client);
  const location = (res: Response, what: string) => {
    const to = res.headers.get('location');
    if (res.status < 300 || res.status >= 400 || !to) throw new Error(`${what}: HTTP ${res.status}`);
    return new URL(to, browser.origin).href;
  };
  const interaction = location(await browser.fetch(path), 'authorize');
  const page = await browser.fetch(interaction);
  const complete = /data-complete="([^"]+)"/.exec(await page.text())?.[1];
  if (!complete) throw new Error(`interaction page: HTTP ${page.status}`);
  await phone.login(await browser.start());
  const done = await browser.fetch(complete.replaceAll('&amp;', '&'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  if (done.status !== 200) throw new Error(`complete: HTTP ${done.status} ${await done.text()}`);
  let to = ((await done.json()) as { location: string }).location;
  for (let hops = 0; hops < 5 && !to.startsWith(client.redirectUri); hops++)
    to = location(await browser.fetch(new URL(to, browser.origin).href), `hop ${hops}`);
  const code = new URL(to).searchParams.get('code');
  if (!code) throw new Error(`no code in ${to}`);
  return { code, verifier };
}
