// `npm run bench -- oidc`: the OIDC front door against bare oidc-provider 9 doing the same flows in the same
// run and process. Three rates, each as a ratio to the baseline:
// - full login: authorization request → login → code → token request (a fresh browser each time; ours
//   logs in by QR with a virtual phone, the mobile SDK core over `ws`; the baseline's interaction logs the
//   user in at once);
// - token endpoint: refresh_token grants (rotation: each worker follows its own chain);
// - introspection of an access token.
// Ours runs in the real embedded runtime (SQLite and the in-process KV unless NEXTAUTH_BENCH_PG_URI /
// NEXTAUTH_BENCH_REDIS_URI are set); the baseline keeps everything in oidc-provider's memory adapter. The
// load generator runs on the same thread as both servers (see docs/oidc.md for what that means).
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';
import { WebSocket } from 'ws';
import { loadConfig } from '../../auth-server/common/config/index.js';
import { createLogger } from '../../auth-server/common/logging.js';
import { createClientRepository } from '../../idp/oidc/clients.js';
import { loadOidcProvider } from '../../idp/oidc/internals.js';
import { oidcTtl } from '../../idp/oidc/provider.js';
import { type Runtime, startRuntime } from '../../idp/runtime/runtime.js';
import { driveFlow, type FlowAnswerer } from '../../mobile-sdk/core/flows/drive.js';
import { NextAuthSdk } from '../../mobile-sdk/core/sdk.js';
import { DEFAULT_MAX_FRAME_BYTES, type PublicJwk, webSocketTransport } from '../../protocol/index.js';
import { MemoryKeyStore, MemoryStorage } from '../../test/mobile-sdk/fakes.js';
import { benchRuntimeEnv, benchStorage } from '../runtime-env.js';

const PIN = '4711';
const CLIENT_ID = 'bench-rp';
const CLIENT_SECRET = 'bench-rp-secret-0123456789abcdef';
const REDIRECT_URI = 'http://127.0.0.1:9/cb';
const BASIC = `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`;
const FORM = 'application/x-www-form-urlencoded';

const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));
const b64url = (b: Buffer) => b.toString('base64url');

type HttpResponse = { status: number; headers: Record<string, string | string[] | undefined>; body: string };

/** One keep-alive agent per server; lighter than fetch, since the load generator shares the cores. */
class Http {
  // Idle sockets are dropped before the server's 5 s keep-alive timeout would close them under a request.
  private readonly agent = new Agent({
    keepAlive: true,
    maxSockets: Number.POSITIVE_INFINITY,
    timeout: 4000,
  });
  constructor(readonly port: number) {}
  send(method: string, path: string, headers: Record<string, string>, body?: string): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: this.port, method, path, headers, agent: this.agent },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => {
            text += d;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }
}

/** A fresh browser: a cookie jar (names are unique per server here, so paths are not tracked). */
class Jar {
  private readonly cookies = new Map<string, string>();
  take(res: HttpResponse): HttpResponse {
    const set = res.headers['set-cookie'];
    for (const line of Array.isArray(set) ? set : set ? [set] : []) {
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

const location = (res: HttpResponse, what: string): string => {
  const to = res.headers.location;
  if (res.status < 300 || res.status >= 400 || typeof to !== 'string')
    throw new Error(`${what}: HTTP ${res.status} ${res.body.slice(0, 200)}`);
  return to;
};
const pathOf = (to: string) => {
  const u = new URL(to, 'http://x');
  return `${u.pathname}${u.search}`;
};

/** PKCE for one login (S256, RFC 7636 §4.2). */
function authorizePath(prefix: string, scope: string): { path: string; verifier: string } {
  const verifier = b64url(randomBytes(32));
  const params = new URLSearchParams({
    client_id: CLIENT_ID,
    response_type: 'code',
    redirect_uri: REDIRECT_URI,
    scope,
    state: b64url(randomBytes(12)),
    nonce: b64url(randomBytes(12)),
    code_challenge: b64url(createHash('sha256').update(verifier).digest()),
    code_challenge_method: 'S256',
  });
  return { path: `${prefix}/auth?${params}`, verifier };
}

interface Tokens {
  access_token: string;
  refresh_token?: string;
}

/** What both sides offer the load loops. */
interface Side {
  name: string;
  /** A full login of worker `w` with a fresh browser; returns the token response. */
  login(w: number, scope: string): Promise<Tokens>;
  http: Http;
  prefix: string;
}

async function tokenRequest(side: Side, form: Record<string, string>): Promise<Tokens> {
  const res = await side.http.send(
    'POST',
    `${side.prefix}/token`,
    { 'content-type': FORM, authorization: BASIC },
    new URLSearchParams(form).toString(),
  );
  if (res.status !== 200) throw new Error(`${side.name} token: HTTP ${res.status} ${res.body.slice(0, 200)}`);
  return JSON.parse(res.body) as Tokens;
}

async function redeem(side: Side, callback: string, verifier: string): Promise<Tokens> {
  const code = new URL(callback).searchParams.get('code');
  if (!code) throw new Error(`${side.name}: no code in ${callback}`);
  return tokenRequest(side, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT_URI,
    code_verifier: verifier,
  });
}

// ---------------------------------------------------------------------------------------------------------
// Baseline: bare oidc-provider, memory adapter, an interaction that logs `bench-user` in at once.

async function startBaseline(): Promise<{ side: Side; close(): Promise<void> }> {
  const { Provider } = await loadOidcProvider();
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const configuration: Configuration = {
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        redirect_uris: [REDIRECT_URI],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      },
    ],
    jwks: {
      keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'bench', alg: 'RS256', use: 'sig' }] as never,
    },
    cookies: { keys: [b64url(randomBytes(32))] },
    features: {
      devInteractions: { enabled: false },
      // Ours answers a client about its own tokens only; the same rule here.
      introspection: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
    },
    scopes: ['openid', 'offline_access'],
    rotateRefreshToken: true,
    ttl: { ...oidcTtl },
    // The grant without consent, as ours gives first-party clients (no consent page on either side).
    async loadExistingGrant(ctx: KoaContextWithOIDC) {
      const { oidc } = ctx;
      if (!oidc.client || !oidc.session?.accountId) return undefined;
      const grant = new oidc.provider.Grant({
        clientId: oidc.client.clientId,
        accountId: oidc.session.accountId,
      });
      grant.addOIDCScope(oidc.requestParamOIDCScopes);
      await grant.save();
      return grant;
    },
    // A refresh token without prompt=consent, as ours does for first-party clients.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  };
  const provider = new Provider(`http://127.0.0.1:${port}`, configuration);
  const handler = provider.callback();
  server.on('request', (req, res) => {
    if (req.url?.startsWith('/interaction/')) {
      provider
        .interactionFinished(
          req,
          res,
          { login: { accountId: 'bench-user' } },
          { mergeWithLastSubmission: false },
        )
        .catch((err: Error) => res.writeHead(500).end(err.message));
      return;
    }
    void handler(req, res);
  });
  const http = new Http(port);
  const side: Side = {
    name: 'oidc-provider',
    http,
    prefix: '',
    async login(_w, scope) {
      const jar = new Jar();
      const { path, verifier } = authorizePath('', scope);
      let to = location(jar.take(await http.send('GET', path, {})), 'authorize');
      for (let hops = 0; hops < 5 && !to.startsWith(REDIRECT_URI); hops++)
        to = location(jar.take(await http.send('GET', pathOf(to), { cookie: jar.header })), `hop ${hops}`);
      return redeem(side, to, verifier);
    },
  };
  return { side, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

// ---------------------------------------------------------------------------------------------------------
// Ours: the embedded runtime; virtual phones, one enrolled user each.

/** Each login from its own address (NEXTAUTH_TRUST_PROXY): the per-IP login limits stay on. */
let addressCounter = 0;
const nextAddress = () => {
  const n = ++addressCounter;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
};

const answerer: FlowAnswerer = {
  confirm: async () => 'approve',
  newPin: async () => PIN,
  pin: async () => PIN,
};

interface Phone {
  sdk: NextAuthSdk;
  ip: string;
}

async function startOurs(workers: number): Promise<{ side: Side; close(): Promise<void> }> {
  const { env, dataDir, port } = await benchRuntimeEnv('oidc');
  const config = loadConfig(env, { mode: 'embedded' });
  const runtime: Runtime = await startRuntime({
    config,
    logger: createLogger({ ...config.log, name: 'bench' }),
    services: ['ns', 'sfs', 'mc', 'idp'],
  });
  const close = async () => {
    await runtime.close();
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    const knex = runtime.dbs.idp;
    if (!knex || config.secretKey === undefined) throw new Error('runtime without the IdP');
    await createClientRepository({
      knex,
      secretKey: config.secretKey,
      clock: { now: () => Date.now() },
      random: { bytes: (n) => new Uint8Array(randomBytes(n)) },
    }).add({ server: 'default', clientId: CLIENT_ID, secret: CLIENT_SECRET, redirectUris: [REDIRECT_URI] });
    const rootApiKey = (await readFile(join(dataDir, 'root-api-key'), 'utf8')).trim();
    const http = new Http(port);
    const sdkDoc = JSON.parse((await http.send('GET', '/sdk-config', {})).body) as {
      config: string;
      publisherKey: PublicJwk;
    };
    const phones: Phone[] = [];
    for (let i = 0; i < workers; i++) {
      const phone = { ip: nextAddress() } as Phone;
      phone.sdk = await NextAuthSdk.open({
        keyStore: new MemoryKeyStore(),
        storage: new MemoryStorage(),
        transports: (url) =>
          webSocketTransport(
            new WebSocket(url, {
              maxPayload: DEFAULT_MAX_FRAME_BYTES,
              perMessageDeflate: false,
              headers: { 'user-agent': 'bench-phone/1.0', 'x-forwarded-for': phone.ip },
            }),
          ),
        deviceDescription: 'bench phone',
        clientVersion: 'bench/1.0',
      });
      await phone.sdk.configure(sdkDoc.config, { publisherKey: sdkDoc.publisherKey });
      const link = await http.send(
        'POST',
        '/ns/api/v2/enrol-links',
        { 'content-type': 'application/json', 'x-apikey': rootApiKey, 'x-forwarded-for': phone.ip },
        JSON.stringify({ server: 'default', userid: `bench-oidc-${i}` }),
      );
      if (link.status !== 201) throw new Error(`enrol link: HTTP ${link.status} ${link.body}`);
      await driveFlow(phone.sdk.startEnrol((JSON.parse(link.body) as { uri: string }).uri), answerer);
      phones.push(phone);
    }
    const prefix = '/oidc/default';
    const side: Side = {
      name: 'nextAuth',
      http,
      prefix,
      // What views/static/login.js does on the interaction page, then the browser's way back to the RP.
      async login(w, scope) {
        const phone = phones[w] as Phone;
        phone.ip = nextAddress();
        const jar = new Jar();
        const base = { 'user-agent': 'bench-browser/1.0', 'x-forwarded-for': phone.ip };
        const { path, verifier } = authorizePath(prefix, scope);
        const interaction = location(jar.take(await http.send('GET', path, base)), 'authorize');
        const page = jar.take(await http.send('GET', pathOf(interaction), { ...base, cookie: jar.header }));
        const complete = /data-complete="([^"]+)"/.exec(page.body)?.[1];
        if (!complete) throw new Error(`interaction page: HTTP ${page.status}`);
        const created = jar.take(
          await http.send(
            'POST',
            '/ns/servers/default/browser-session',
            { ...base, 'content-type': 'application/json', cookie: jar.header },
            '{}',
          ),
        );
        if (created.status !== 201)
          throw new Error(`browser-session: HTTP ${created.status} ${created.body}`);
        const qr = await http.send('GET', '/ns/servers/default/session/qr', { ...base, cookie: jar.header });
        if (qr.status !== 200) throw new Error(`qr: HTTP ${qr.status} ${qr.body}`);
        await driveFlow(phone.sdk.startLogin((JSON.parse(qr.body) as { qrUri: string }).qrUri), answerer);
        const done = jar.take(
          await http.send(
            'POST',
            complete.replaceAll('&amp;', '&'),
            { ...base, 'content-type': 'application/json', cookie: jar.header },
            '{}',
          ),
        );
        if (done.status !== 200) throw new Error(`complete: HTTP ${done.status} ${done.body}`);
        let to = (JSON.parse(done.body) as { location: string }).location;
        for (let hops = 0; hops < 5 && !to.startsWith(REDIRECT_URI); hops++)
          to = location(
            jar.take(await http.send('GET', pathOf(to), { ...base, cookie: jar.header })),
            `hop ${hops}`,
          );
        return redeem(side, to, verifier);
      },
    };
    return { side, close };
  } catch (err) {
    await close();
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------------------

interface Measured {
  rate: number;
  count: number;
  errors: number;
  firstError?: string;
}

/** `concurrency` workers repeat `op` for `seconds`; operations per second over the whole run. */
async function loop(
  concurrency: number,
  seconds: number,
  op: (w: number) => Promise<unknown>,
): Promise<Measured> {
  const end = performance.now() + seconds * 1000;
  let count = 0;
  let errors = 0;
  let firstError: string | undefined;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      while (performance.now() < end) {
        try {
          await op(w);
          count++;
        } catch (err) {
          errors++;
          firstError ??= (err as Error).message;
          if (errors > 20) throw new Error(`too many failures: ${firstError}`);
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  return { rate: count / elapsed, count, errors, ...(firstError ? { firstError } : {}) };
}

/** Per worker, a live refresh token (rotated at each use) and an access token to introspect. */
async function tokensPerWorker(side: Side, workers: number): Promise<Tokens[]> {
  return Promise.all(Array.from({ length: workers }, (_, w) => side.login(w, 'openid offline_access')));
}

function refreshLoop(side: Side, held: Tokens[]) {
  return async (w: number) => {
    const current = held[w] as Tokens;
    const next = await tokenRequest(side, {
      grant_type: 'refresh_token',
      refresh_token: current.refresh_token ?? '',
    });
    held[w] = next;
  };
}

function introspectionLoop(side: Side, held: Tokens[]) {
  return async (w: number) => {
    const res = await side.http.send(
      'POST',
      `${side.prefix}/token/introspection`,
      { 'content-type': FORM, authorization: BASIC },
      new URLSearchParams({ token: (held[w] as Tokens).access_token }).toString(),
    );
    if (res.status !== 200 || !res.body.includes('"active":true'))
      throw new Error(`${side.name} introspection: HTTP ${res.status} ${res.body.slice(0, 200)}`);
  };
}

export async function run(): Promise<void> {
  const concurrency = Number(process.env.NEXTAUTH_BENCH_CONCURRENCY ?? 8);
  const seconds = Number(process.env.NEXTAUTH_BENCH_SECONDS ?? 5);
  const baseline = await startBaseline();
  let ours: Awaited<ReturnType<typeof startOurs>> | undefined;
  try {
    ours = await startOurs(concurrency);
    const us = ours.side;
    const base = baseline.side;
    console.log(
      `storage: ${benchStorage()} | baseline: bare oidc-provider 9, memory adapter, instant login | ` +
        `${concurrency} workers, ${seconds} s per measurement, load generator on the servers' thread`,
    );
    // Warm-up: JIT, SQLite page cache, provider caches.
    await loop(concurrency, 1, (w) => base.login(w, 'openid'));
    await loop(concurrency, 2, (w) => us.login(w, 'openid'));

    const rows: { what: string; target: number; base: Measured; ours: Measured }[] = [];
    const compare = async (
      what: string,
      target: number,
      b: (w: number) => Promise<unknown>,
      o: (w: number) => Promise<unknown>,
    ) => {
      const bm = await loop(concurrency, seconds, b);
      const om = await loop(concurrency, seconds, o);
      rows.push({ what, target, base: bm, ours: om });
    };
    await compare(
      'full login (authorize → login → token)',
      0.5,
      (w) => base.login(w, 'openid'),
      (w) => us.login(w, 'openid'),
    );
    const baseTokens = await tokensPerWorker(base, concurrency);
    const ourTokens = await tokensPerWorker(us, concurrency);
    await compare(
      'token endpoint (refresh_token, rotated)',
      0.8,
      refreshLoop(base, baseTokens),
      refreshLoop(us, ourTokens),
    );
    await compare(
      'introspection',
      0.8,
      introspectionLoop(base, baseTokens),
      introspectionLoop(us, ourTokens),
    );

    for (const { what, target, base: b, ours: o } of rows) {
      const ratio = o.rate / b.rate;
      console.log(
        `  ${what}: baseline ${fmt(b.rate)}/s | nextAuth ${fmt(o.rate)}/s (${o.count} ops` +
          `${o.errors ? `, ${o.errors} failed: ${o.firstError}` : ''}) | ratio ${ratio.toFixed(3)}` +
          ` (target ≥ ${target}) ${ratio >= target ? 'OK' : 'BELOW TARGET'}`,
      );
    }
  } finally {
    await ours?.close();
    await baseline.close();
  }
}
