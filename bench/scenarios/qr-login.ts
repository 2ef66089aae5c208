// `npm run bench -- qr-login`: whole QR logins against the real embedded runtime (NS + SFS in this process;
// SQLite and the in-process KV unless NEXTAUTH_BENCH_PG_URI / NEXTAUTH_BENCH_REDIS_URI are set), driven by
// virtual phones (the mobile SDK core over `ws`, keys in memory) and "browsers" (browser-session → QR → SSE).
// Latency = the phone starting its scan → the browser's SSE stream reporting `loggedin`.
// Baseline, measured in the same run at the same concurrency: a ws echo server on the same thread as the
// runtime that verifies one ECDSA P-256 signature per message (the least crypto a login costs a server).
// The load generator (phones, browsers, baseline clients) runs in a worker thread of this process, so the
// runtime's event loop carries only server work; NEXTAUTH_BENCH_CLIENTS=inline puts it on the same thread.
import { readFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { WebSocket, WebSocketServer } from 'ws';
import { loadConfig } from '../../auth-server/common/config/index.js';
import { nodeCrypto } from '../../auth-server/common/crypto/node-crypto.js';
import { createLogger } from '../../auth-server/common/logging.js';
import { type Runtime, startRuntime } from '../../idp/runtime/runtime.js';
import { driveFlow, type FlowAnswerer } from '../../mobile-sdk/core/flows/drive.js';
import {
  type JsonValue,
  type KeyKind,
  type KeyStore,
  KeyStoreError,
  type Storage,
} from '../../mobile-sdk/core/ports.js';
import { NextAuthSdk } from '../../mobile-sdk/core/sdk.js';
import {
  defaultCrypto,
  ECDH_P256,
  ecdh,
  ecdsaSign,
  ecdsaVerify,
  hmacSign,
  setDefaultCrypto,
} from '../../protocol/crypto.js';
import {
  DEFAULT_MAX_FRAME_BYTES,
  type PublicJwk,
  publicKeyToJwk,
  webSocketTransport,
} from '../../protocol/index.js';
import { type PushLoginPayload, parseAppMessage } from '../../protocol/mobile/mc-payloads.js';
import { benchRuntimeEnv, benchStorage } from '../runtime-env.js';

const subtle = globalThis.crypto.subtle;
const ECDSA = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const PIN = '4711';
const MESSAGE_BYTES = 256;
const WORKER_TAG = 'qr-login-load-generator';

const now = () => performance.now();
const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));

// ---------------------------------------------------------------------------------------------------------
// Load generator: virtual phones and browsers (in the worker thread, or inline).

/** The KeyStore contract in memory: a phone's keystore without files, so the load generator stays light. */
class MemoryKeyStore implements KeyStore {
  readonly hardwareBacked = false;
  private readonly keys = new Map<
    string,
    { pair?: CryptoKeyPair; hmac?: CryptoKey; jwk?: PublicJwk; ecdh?: boolean }
  >();
  async generate(alias: string, kind: KeyKind = 'ecdsa-p256'): Promise<void> {
    if (this.keys.has(alias)) throw new KeyStoreError('exists');
    if (kind === 'hmac-sha256') {
      const hmac = await subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
      this.keys.set(alias, { hmac });
      return;
    }
    const pair =
      kind === 'ecdh-p256'
        ? ((await subtle.generateKey(ECDH_P256, false, ['deriveBits'])) as CryptoKeyPair)
        : ((await subtle.generateKey(ECDSA, false, ['sign', 'verify'])) as CryptoKeyPair);
    const jwk = publicKeyToJwk(new Uint8Array(await subtle.exportKey('raw', pair.publicKey)));
    this.keys.set(alias, { pair, jwk, ecdh: kind === 'ecdh-p256' });
  }
  async agree(alias: string, peerPublicKey: Uint8Array<ArrayBuffer>) {
    const e = this.entry(alias);
    if (!e.ecdh) throw new KeyStoreError('wrong_kind');
    return ecdh(defaultCrypto(), (e.pair as CryptoKeyPair).privateKey, peerPublicKey);
  }
  async has(alias: string) {
    return this.keys.has(alias);
  }
  private entry(alias: string) {
    const e = this.keys.get(alias);
    if (!e) throw new KeyStoreError('not_found', alias);
    return e;
  }
  async sign(alias: string, data: Uint8Array<ArrayBuffer>) {
    const e = this.entry(alias);
    if (e.ecdh) throw new KeyStoreError('wrong_kind');
    if (e.hmac) return hmacSign(defaultCrypto(), e.hmac, data);
    return ecdsaSign(defaultCrypto(), (e.pair as CryptoKeyPair).privateKey, data);
  }
  async publicJwk(alias: string): Promise<PublicJwk> {
    const e = this.entry(alias);
    if (!e.jwk) throw new KeyStoreError('wrong_kind');
    return e.jwk;
  }
  async delete(alias: string) {
    this.keys.delete(alias);
  }
}

class MemoryStorage implements Storage {
  private readonly docs = new Map<string, JsonValue>();
  async get(key: string) {
    const v = this.docs.get(key);
    return v === undefined ? undefined : structuredClone(v);
  }
  async set(key: string, value: JsonValue) {
    this.docs.set(key, structuredClone(value));
  }
  async delete(key: string) {
    this.docs.delete(key);
  }
}

/**
 * Every login comes from its own client address (X-Forwarded-For, with NEXTAUTH_TRUST_PROXY=true), for the
 * browser and the phone alike: the per-IP limits (60 browser sessions, 120 scans a minute) are meant for one
 * office NAT, not for a benchmark's whole load, and stay on.
 */
let addressCounter = 0;
const nextAddress = () => {
  const n = ++addressCounter;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
};

interface Phone {
  sdk: NextAuthSdk;
  /** The address the phone's next connections come from. */
  ip: string;
}

const answerer: FlowAnswerer = {
  confirm: async () => 'approve',
  newPin: async () => PIN,
  pin: async () => PIN,
};

type HttpResponse = { status: number; headers: Record<string, string | string[] | undefined>; body: string };

/** Minimal HTTP client on one keep-alive agent (lighter than fetch: the load generator shares the cores). */
class Http {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
  constructor(private readonly port: number) {}

  send(method: string, path: string, headers: Record<string, string>, body?: string): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      const options = { host: '127.0.0.1', port: this.port, method, path, headers, agent: this.agent };
      const req = request(options, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  /**
   * Opens the SSE stream. `opened` resolves at the first `state` event (the server has subscribed to the
   * session's events by then), `loggedin` with the time the `loggedin` state arrived.
   */
  events(path: string, headers: Record<string, string>) {
    const settle = { first: () => {}, done: (_t: number) => {}, fail: (_e: Error) => {} };
    const opened = new Promise<void>((resolve, reject) => {
      settle.first = resolve;
      settle.fail = reject;
    });
    const loggedin = new Promise<number>((resolve, reject) => {
      settle.done = resolve;
      const failOpen = settle.fail;
      settle.fail = (e) => {
        failOpen(e);
        reject(e);
      };
    });
    opened.catch(() => {});
    loggedin.catch(() => {});
    const options = {
      host: '127.0.0.1',
      port: this.port,
      path,
      headers: { ...headers, accept: 'text/event-stream' },
      agent: this.agent,
    };
    const req = request(options, (res) => {
      if (res.statusCode !== 200) return settle.fail(new Error(`events: HTTP ${res.statusCode}`));
      let buf = '';
      let states = 0;
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        buf += d;
        for (let end = buf.indexOf('\n\n'); end >= 0; end = buf.indexOf('\n\n')) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          if (!block.startsWith('event: state\n')) continue;
          const { state } = JSON.parse(block.slice(block.indexOf('data: ') + 6)) as { state: string };
          if (states++ === 0) settle.first();
          if (state === 'loggedin') settle.done(now());
          else if (state !== 'waiting' && state !== 'scanned') settle.fail(new Error(`events: ${state}`));
        }
      });
      res.on('end', () => settle.fail(new Error('events: stream ended before loggedin')));
      res.on('error', settle.fail);
    });
    req.on('error', settle.fail);
    req.end();
    return { opened, loggedin, close: () => req.destroy() };
  }

  close() {
    this.agent.destroy();
  }
}

interface LoopResult {
  count: number;
  errors: number;
  firstError?: string;
  seconds: number;
  /** Milliseconds, one per successful operation. */
  latencies: number[];
}

/** `concurrency` loops run `task` until `seconds` have passed; each task returns its measured latency. */
async function loop(
  concurrency: number,
  seconds: number,
  task: (worker: number) => Promise<number>,
): Promise<LoopResult> {
  const result: LoopResult = { count: 0, errors: 0, seconds: 0, latencies: [] };
  const start = now();
  const deadline = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (now() < deadline) {
        try {
          result.latencies.push(await task(worker));
          result.count++;
        } catch (err) {
          result.errors++;
          result.firstError ??= err instanceof Error ? err.message : String(err);
        }
      }
    }),
  );
  result.seconds = (now() - start) / 1000;
  return result;
}

/** What the main thread asks of the load generator (directly, or as messages to the worker). */
interface Load {
  /** Creates `phones` virtual phones and enrols each as its own user (set-up, not measured). */
  enrol(phones: number): Promise<void>;
  logins(concurrency: number, seconds: number): Promise<LoopResult>;
  /** Makes every phone a push target: MC subscription, a first QR login, the browser's returning cookie. */
  returning(): Promise<void>;
  pushLogins(concurrency: number, seconds: number): Promise<LoopResult>;
  baseline(url: string, concurrency: number, seconds: number): Promise<LoopResult>;
  close(): Promise<void>;
}

interface LoadOptions {
  port: number;
  rootApiKey: string;
}

/** A phone's browser as a returning user, and the push requests its subscription hands over. */
interface Returning {
  /** The returning-user cookie (`name=value`). */
  known: string;
  /** Set while a push login waits for its request. */
  next?: (request: PushLoginPayload) => void;
  queued: PushLoginPayload[];
}

function createLoad({ port, rootApiKey }: LoadOptions): Load {
  const http = new Http(port);
  const phones: Phone[] = [];
  const returning: Returning[] = [];
  /** Phones not in a push login now, least recently used first. */
  const idle: number[] = [];

  const newPhone = async (sdkDoc: { config: string; publisherKey: PublicJwk }): Promise<Phone> => {
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
    return phone;
  };

  /** A new browser login session (its cookie, plus `extraCookie`) with its event stream open. */
  const openBrowser = async (base: Record<string, string>, extraCookie?: string) => {
    const jar: Record<string, string> = extraCookie ? { cookie: extraCookie } : {};
    const created = await http.send(
      'POST',
      '/ns/servers/default/browser-session',
      { ...base, ...jar, 'content-type': 'application/json' },
      '{}',
    );
    if (created.status !== 201) throw new Error(`browser-session: HTTP ${created.status} ${created.body}`);
    const session = String(created.headers['set-cookie'] ?? '').split(';')[0] ?? '';
    const cookie = extraCookie ? `${session}; ${extraCookie}` : session;
    const events = http.events('/ns/servers/default/session/events', { ...base, cookie });
    return { cookie, events };
  };

  /** One login: the browser opens its session and event stream, then the phone scans, confirms, approves. */
  const qrLogin = async (worker: number): Promise<{ latency: number; cookie: string }> => {
    const phone = phones[worker] as Phone;
    const ip = nextAddress();
    phone.ip = ip;
    const base = { 'user-agent': 'bench-browser/1.0', 'x-forwarded-for': ip };
    const { cookie, events } = await openBrowser(base);
    try {
      const qr = await http.send('GET', '/ns/servers/default/session/qr', { ...base, cookie });
      if (qr.status !== 200) throw new Error(`qr: HTTP ${qr.status} ${qr.body}`);
      const { qrUri } = JSON.parse(qr.body) as { qrUri: string };
      await events.opened;
      const t0 = now();
      await driveFlow(phone.sdk.startLogin(qrUri), answerer);
      return { latency: (await events.loggedin) - t0, cookie };
    } finally {
      events.close();
    }
  };
  const login = async (worker: number): Promise<number> => (await qrLogin(worker)).latency;

  /**
   * Push login of a returning browser: it opens a login session, asks for a push, the phone receives the
   * request over its MC subscription, types the number and approves with the PIN.
   */
  const pushLogin = async (): Promise<number> => {
    // The least recently used phone: each account stays under the push limit of 60 a minute.
    const worker = idle.shift();
    if (worker === undefined) throw new Error('push: more loops than phones');
    const phone = phones[worker] as Phone;
    const r = returning[worker] as Returning;
    const ip = nextAddress();
    phone.ip = ip;
    const base = { 'user-agent': 'bench-browser/1.0', 'x-forwarded-for': ip };
    const { cookie, events } = await openBrowser(base, r.known);
    try {
      await events.opened;
      r.queued = [];
      const delivered = new Promise<PushLoginPayload>((resolve) => {
        r.next = resolve;
      });
      const t0 = now();
      const pushed = await http.send('POST', '/ns/servers/default/session/push', { ...base, cookie });
      if (pushed.status !== 200) throw new Error(`push: HTTP ${pushed.status} ${pushed.body}`);
      const { match } = JSON.parse(pushed.body) as { match: number };
      const request = await Promise.race([
        delivered,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error('push: not delivered in 10 s')), 10_000),
        ),
      ]);
      await driveFlow(phone.sdk.startPushLogin(request, { match }), answerer);
      return (await events.loggedin) - t0;
    } finally {
      r.next = undefined;
      events.close();
      idle.push(worker);
    }
  };

  return {
    async enrol(count) {
      const doc = await http.send('GET', '/sdk-config', {});
      const sdkDoc = JSON.parse(doc.body) as { config: string; publisherKey: PublicJwk };
      for (let i = phones.length; i < count; i += 10) {
        const batch = Array.from({ length: Math.min(10, count - i) }, async (_, j) => {
          const phone = await newPhone(sdkDoc);
          const res = await http.send(
            'POST',
            '/ns/api/v2/enrol-links',
            { 'content-type': 'application/json', 'x-apikey': rootApiKey, 'x-forwarded-for': phone.ip },
            JSON.stringify({ server: 'default', userid: `bench-user-${i + j}` }),
          );
          if (res.status !== 201) throw new Error(`enrol link: HTTP ${res.status} ${res.body}`);
          await driveFlow(phone.sdk.startEnrol((JSON.parse(res.body) as { uri: string }).uri), answerer);
          return phone;
        });
        phones.push(...(await Promise.all(batch)));
      }
    },

    logins: (concurrency, seconds) => loop(concurrency, seconds, login),

    async returning() {
      // The bench's phones log in far more often than a person: the per-account push limits go to their
      // maximum (they are meant for push bombing, and the test suite covers them).
      const policy = { pushesPerMinute: 60, maxOpenPushes: 20, clientPushesPerMinute: 60 };
      const patched = await http.send(
        'PATCH',
        '/ns/api/v2/servers/default',
        { 'content-type': 'application/json', 'x-apikey': rootApiKey },
        JSON.stringify({ policy }),
      );
      if (patched.status !== 200) throw new Error(`server policy: HTTP ${patched.status} ${patched.body}`);
      for (let i = returning.length; i < phones.length; i += 10) {
        const batch = Array.from({ length: Math.min(10, phones.length - i) }, async (_, j) => {
          const worker = i + j;
          const r: Returning = { known: '', queued: [] };
          const inbox = await (phones[worker] as Phone).sdk.openInbox();
          await inbox.listen((m) => {
            const payload = parseAppMessage(m.payload);
            if (payload?.type !== 'login') return;
            if (r.next) r.next(payload);
            else r.queued.push(payload);
          });
          // The first login is by QR; reading its status gives the browser its returning-user cookie.
          const { cookie } = await qrLogin(worker);
          const status = await http.send('GET', '/ns/servers/default/session', { cookie });
          const known = ([] as string[])
            .concat(status.headers['set-cookie'] ?? [])
            .map((c) => c.split(';')[0] ?? '')
            .find((c) => c.split('=')[0]?.endsWith('_known'));
          if (!known) throw new Error('no returning-user cookie after the first login');
          r.known = known;
          return r;
        });
        returning.push(...(await Promise.all(batch)));
      }
      idle.splice(0, idle.length, ...returning.keys());
    },

    pushLogins: (concurrency, seconds) => loop(concurrency, seconds, pushLogin),

    async baseline(url, concurrency, seconds) {
      // Any frame works: the server signs what it expects and only checks the signature it appended.
      const frame = new Uint8Array(MESSAGE_BYTES).fill(7);
      const sockets = await Promise.all(
        Array.from({ length: concurrency }, async () => {
          const ws = new WebSocket(url, { perMessageDeflate: false });
          ws.binaryType = 'arraybuffer';
          await new Promise((r) => ws.once('open', r));
          return ws;
        }),
      );
      const result = await loop(concurrency, seconds, (w) => {
        const ws = sockets[w] as WebSocket;
        return new Promise<number>((resolve, reject) => {
          const t0 = now();
          ws.once('message', (d: ArrayBuffer) =>
            d.byteLength === 1 ? resolve(now() - t0) : reject(new Error('baseline: verify failed')),
          );
          ws.send(frame);
        });
      });
      for (const ws of sockets) ws.terminate();
      return result;
    },

    async close() {
      http.close();
    },
  };
}

// The worker thread's side: serve the main thread's calls one message at a time.
if (!isMainThread && (workerData as { tag?: string } | null)?.tag === WORKER_TAG) {
  // The phones' crypto on node:crypto too, as a phone's native crypto would be (not WebCrypto in JS).
  setDefaultCrypto(nodeCrypto());
  const load = createLoad((workerData as { options: LoadOptions }).options);
  parentPort?.on('message', (msg: { id: number; method: keyof Load; args: unknown[] }) => {
    const method = load[msg.method] as (...a: unknown[]) => Promise<unknown>;
    method(...msg.args).then(
      (result) => parentPort?.postMessage({ id: msg.id, result }),
      (err: unknown) =>
        parentPort?.postMessage({ id: msg.id, error: err instanceof Error ? err.message : String(err) }),
    );
  });
}

/** The load generator in a worker thread, behind the same interface (tsx is registered there first). */
function workerLoad(options: LoadOptions): Load {
  const tsx = import.meta.resolve('tsx/esm/api');
  const self = import.meta.url;
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(self)}); })`;
  const worker = new Worker(boot, { eval: true, workerData: { tag: WORKER_TAG, options } });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  worker.on('message', (msg: { id: number; result?: unknown; error?: string }) => {
    const p = pending.get(msg.id);
    pending.delete(msg.id);
    if (msg.error !== undefined) p?.reject(new Error(msg.error));
    else p?.resolve(msg.result);
  });
  worker.on('error', (err) => {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  });
  const call =
    <T>(method: keyof Load) =>
    (...args: unknown[]) =>
      new Promise<T>((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        worker.postMessage({ id, method, args });
      });
  return {
    enrol: call<void>('enrol'),
    logins: call<LoopResult>('logins'),
    returning: call<void>('returning'),
    pushLogins: call<LoopResult>('pushLogins'),
    baseline: call<LoopResult>('baseline'),
    async close() {
      await call<void>('close')();
      await worker.terminate();
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Server side (main thread): the runtime, the baseline server, and the figures.

/**
 * Baseline server: answers each message after verifying an ECDSA P-256 signature over it, with the crypto the
 * runtime uses (node:crypto's primitives; the key imported once).
 */
async function startVerifyEcho() {
  const c = defaultCrypto();
  const pair = (await subtle.generateKey(ECDSA, false, ['sign', 'verify'])) as CryptoKeyPair;
  const publicRaw = new Uint8Array(await subtle.exportKey('raw', pair.publicKey));
  const signature = await ecdsaSign(c, pair.privateKey, new Uint8Array(MESSAGE_BYTES).fill(7));
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    perMessageDeflate: false,
    maxPayload: 65536,
  });
  await new Promise((r) => wss.once('listening', r));
  wss.on('connection', (ws) => {
    ws.binaryType = 'arraybuffer';
    ws.on('message', (data: ArrayBuffer) => {
      void ecdsaVerify(c, publicRaw, signature, new Uint8Array(data)).then((ok) =>
        ws.send(ok ? new Uint8Array(1) : new Uint8Array(0)),
      );
    });
  });
  const url = `ws://127.0.0.1:${(wss.address() as { port: number }).port}/`;
  return { url, close: () => new Promise<void>((r) => wss.close(() => r())) };
}

/** CPU milliseconds of this (the runtime's) thread so far: Linux /proc, else undefined. */
function threadCpuMs(): number | undefined {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime (fields 14 and 15 of proc(5)), in clock ticks of 10 ms.
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

interface Measured extends LoopResult {
  rate: number;
  p50: number;
  p99: number;
  /** Runtime thread: CPU milliseconds per operation (Linux; else its busy time), share of time busy. */
  mainMsPerOp: number;
  mainBusy: number;
  /** CPU of the whole process (all threads, load generator included) per operation. */
  cpuMsPerOp: number;
}

async function measure(task: () => Promise<LoopResult>): Promise<Measured> {
  const elu0 = performance.eventLoopUtilization();
  const cpu0 = process.cpuUsage();
  const thread0 = threadCpuMs();
  const r = await task();
  const elu = performance.eventLoopUtilization(elu0);
  const cpu = process.cpuUsage(cpu0);
  const thread1 = threadCpuMs();
  const threadMs = thread0 !== undefined && thread1 !== undefined ? thread1 - thread0 : elu.active;
  if (r.errors > 0) console.warn(`  ${r.errors} failed; first: ${r.firstError}`);
  const sorted = [...r.latencies].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;
  const ops = Math.max(1, r.count);
  return {
    ...r,
    rate: r.count / r.seconds,
    p50: at(0.5),
    p99: at(0.99),
    mainMsPerOp: threadMs / ops,
    mainBusy: elu.utilization,
    cpuMsPerOp: (cpu.user + cpu.system) / 1000 / ops,
  };
}

interface BenchContext {
  load: Load;
  concurrency: number;
  seconds: number;
  inline: boolean;
  echoUrl: string;
}

/** The embedded runtime, the baseline echo server and the load generator with its phones enrolled. */
async function withRuntime(body: (b: BenchContext) => Promise<void>): Promise<void> {
  const concurrency = Number(process.env.NEXTAUTH_BENCH_CONCURRENCY ?? 50);
  const seconds = Number(process.env.NEXTAUTH_BENCH_SECONDS ?? 10);
  const inline = process.env.NEXTAUTH_BENCH_CLIENTS === 'inline';
  const { env, dataDir, port } = await benchRuntimeEnv('qr');
  const config = loadConfig(env, { mode: 'embedded' });
  let runtime: Runtime | undefined;
  let load: Load | undefined;
  setDefaultCrypto(nodeCrypto()); // what startRuntime installs; the baseline is measured with it too
  const echo = await startVerifyEcho();
  try {
    runtime = await startRuntime({
      config,
      logger: createLogger({ ...config.log, name: 'bench' }),
      services: ['ns', 'sfs', 'mc', 'idp'],
    });
    const rootApiKey = (await readFile(join(dataDir, 'root-api-key'), 'utf8')).trim();
    const options = { port, rootApiKey };
    load = inline ? createLoad(options) : workerLoad(options);
    console.log(
      `storage: ${benchStorage()}; load generator: ` +
        `${inline ? 'inline (same thread as the runtime)' : 'worker thread'}, ${concurrency} phones, one user each`,
    );
    await load.enrol(concurrency);
    await body({ load, concurrency, seconds, inline, echoUrl: echo.url });
  } finally {
    await load?.close();
    await runtime?.close();
    await echo.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

export function run(): Promise<void> {
  return withRuntime(async ({ load, concurrency, seconds, inline, echoUrl }) => {
    // Warm-up (JIT, SQLite page cache, thread pool), then c=1 and c=N, each baseline right before its run.
    await load.logins(concurrency, 3);
    await load.baseline(echoUrl, concurrency, 1);
    const rows: { c: number; base: Measured; logins: Measured }[] = [];
    for (const c of [1, concurrency]) {
      const s = c === 1 ? Math.max(2, seconds / 3) : seconds;
      const base = await measure(() => load.baseline(echoUrl, c, Math.max(2, s / 3)));
      const logins = await measure(() => load.logins(c, s));
      rows.push({ c, base, logins });
    }

    console.log(
      'latency: phone starts the scan → browser SSE says loggedin | baseline: ws round trip + ECDSA P-256 verify on the server',
    );
    for (const { c, base, logins } of rows) {
      console.log(
        `  concurrency ${c}: baseline ${fmt(base.rate)} ops/s (p50 ${fmt(base.p50)} ms, p99 ${fmt(base.p99)} ms)` +
          ` | qr-login ${fmt(logins.rate)} logins/s (p50 ${fmt(logins.p50)} ms, p99 ${fmt(logins.p99)} ms,` +
          ` ${logins.count} logins${logins.errors ? `, ${logins.errors} failed` : ''})` +
          ` | ratio ${(logins.rate / base.rate).toFixed(4)} (1 login ≈ ${fmt(base.rate / logins.rate)} baseline ops)`,
      );
      console.log(
        `    ${inline ? 'runtime + load generator thread' : 'runtime thread'}: ${logins.mainMsPerOp.toFixed(1)} ms CPU/login (≈ ${fmt(1000 / logins.mainMsPerOp)} logins/s` +
          ` on a core of its own), busy ${(logins.mainBusy * 100).toFixed(0)}% | baseline ${base.mainMsPerOp.toFixed(2)} ms CPU/op` +
          ` | whole process incl. load generator: ${logins.cpuMsPerOp.toFixed(1)} ms CPU/login`,
      );
    }
    const full = rows[rows.length - 1];
    if (full) {
      const { rate, p99, mainMsPerOp } = full.logins;
      console.log(
        `targets at concurrency ${full.c} (2-core machine): ≥ 300 logins/s — ${rate >= 300 ? 'met' : 'not met'};` +
          ` p99 < 150 ms — ${p99 < 150 ? 'met' : 'not met'}` +
          ` (300/s on 2 cores leaves ${((2 * 1000) / 300).toFixed(1)} ms of CPU per login for everything; the ${inline ? 'runtime + load generator thread' : 'runtime thread alone'} takes ${mainMsPerOp.toFixed(1)})`,
      );
    }
  });
}

/**
 * `npm run bench -- push` (bench/scenarios/push.ts): push logins of returning browsers against QR logins of
 * the same phones in the same run, at concurrency 1 and N, each right after the other.
 */
export function runPush(): Promise<void> {
  return withRuntime(async ({ load, concurrency, seconds, inline }) => {
    await load.returning();
    // Warm-up of both paths, then per concurrency: QR logins (the baseline), then push logins.
    await load.logins(concurrency, 2);
    await load.pushLogins(concurrency, 2);
    const rows: { c: number; qr: Measured; push: Measured }[] = [];
    for (const c of [1, concurrency]) {
      const s = c === 1 ? Math.max(2, seconds / 3) : seconds;
      const qr = await measure(() => load.logins(c, s));
      const push = await measure(() => load.pushLogins(c, s));
      rows.push({ c, qr, push });
    }
    console.log(
      'latency: browser asks for the push → phone gets it over its MC subscription, types the number, approves with the PIN → browser SSE says loggedin | baseline: QR logins of the same phones (scan → loggedin)',
    );
    const cpu = inline ? 'runtime + load generator thread' : 'runtime thread';
    for (const { c, qr, push } of rows) {
      const failed = (m: Measured) => (m.errors ? `, ${m.errors} failed` : '');
      console.log(
        `  concurrency ${c}: qr-login ${fmt(qr.rate)} logins/s (p50 ${fmt(qr.p50)} ms, p99 ${fmt(qr.p99)} ms${failed(qr)})` +
          ` | push ${fmt(push.rate)} logins/s (p50 ${fmt(push.p50)} ms, p99 ${fmt(push.p99)} ms, ${push.count} logins${failed(push)})` +
          ` | ratio push/qr ${(push.rate / qr.rate).toFixed(2)}, p50 latency ${(push.p50 / qr.p50).toFixed(2)}×`,
      );
      console.log(
        `    ${cpu}: push ${push.mainMsPerOp.toFixed(1)} ms CPU/login vs qr ${qr.mainMsPerOp.toFixed(1)} ms` +
          ` | whole process: push ${push.cpuMsPerOp.toFixed(1)} vs qr ${qr.cpuMsPerOp.toFixed(1)} ms CPU/login` +
          `${push.firstError ? ` | first push error: ${push.firstError}` : ''}`,
      );
    }
  });
}
