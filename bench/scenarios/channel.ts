// `npm run bench -- channel`: secure-channel handshakes/s and records/s over loopback ws, as ratios to the raw
// primitive cost measured in the same run (WebCrypto ops a handshake needs; raw AES-GCM + ws echo for records).
import { WebSocket, WebSocketServer } from 'ws';
import {
  accept,
  connect,
  defaultCrypto,
  generateIdentityKeyPair,
  type SecureSession,
  type Signer,
  signerFromKeyPair,
  type Transport,
} from '../../protocol/index.js';
import { openLoopbackClient, startLoopbackServer } from '../../test/protocol/ws-server.js';

const c = defaultCrypto();
const subtle = c.subtle;
const ECDH = { name: 'ECDH', namedCurve: 'P-256' } as const;
const ECDSA = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIG = { name: 'ECDSA', hash: 'SHA-256' } as const;

const now = () => performance.now();
const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));

/** Runs `task` `total` times with `concurrency` in flight; returns operations per second. */
async function rate(total: number, concurrency: number, task: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const start = now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await task(next++);
    }),
  );
  return total / ((now() - start) / 1000);
}

/** The WebCrypto operations of one handshake, both sides, without protocol logic or I/O. */
async function primitiveHandshake(server: CryptoKeyPair, client: CryptoKeyPair): Promise<void> {
  const [ce, se] = await Promise.all([
    subtle.generateKey(ECDH, true, ['deriveBits']),
    subtle.generateKey(ECDH, true, ['deriveBits']),
  ]);
  const cRaw = await subtle.exportKey('raw', ce.publicKey);
  const sRaw = await subtle.exportKey('raw', se.publicKey);
  const zs = await subtle.deriveBits(
    { name: 'ECDH', public: await subtle.importKey('raw', cRaw, ECDH, false, []) },
    se.privateKey,
    256,
  );
  const zc = await subtle.deriveBits(
    { name: 'ECDH', public: await subtle.importKey('raw', sRaw, ECDH, false, []) },
    ce.privateKey,
    256,
  );
  const salt = new Uint8Array(32);
  const hkdf = async (z: ArrayBuffer, len: number) =>
    subtle.deriveBits(
      { name: 'HKDF', hash: 'SHA-256', salt, info: salt },
      await subtle.importKey('raw', z, 'HKDF', false, ['deriveBits']),
      len * 8,
    );
  const [hs1, hs2] = await Promise.all([hkdf(zs, 152), hkdf(zc, 152)]);
  const data = new Uint8Array(300);
  const sSig = await subtle.sign(SIG, server.privateKey, data);
  const cSig = await subtle.sign(SIG, client.privateKey, data);
  const sPub = await subtle.exportKey('raw', server.publicKey);
  const cPub = await subtle.exportKey('raw', client.publicKey);
  await subtle.verify(SIG, await subtle.importKey('raw', sPub, ECDSA, false, ['verify']), sSig, data);
  await subtle.verify(SIG, await subtle.importKey('raw', cPub, ECDSA, false, ['verify']), cSig, data);
  await Promise.all([hkdf(zs, 88), hkdf(zc, 88)]);
  // server_auth, client_finish, ready: each imported, encrypted and decrypted once.
  const iv = new Uint8Array(12);
  for (const m of [hs1, hs2, hs1]) {
    const k = await subtle.importKey('raw', new Uint8Array(m, 0, 32), 'AES-GCM', false, [
      'encrypt',
      'decrypt',
    ]);
    const k2 = await subtle.importKey('raw', new Uint8Array(m, 0, 32), 'AES-GCM', false, [
      'encrypt',
      'decrypt',
    ]);
    const ct = await subtle.encrypt({ name: 'AES-GCM', iv }, k, data);
    await subtle.decrypt({ name: 'AES-GCM', iv }, k2, ct);
  }
}

async function handshakes(serverSigner: Signer, clientSigner: Signer, total: number, concurrency: number) {
  const sessions: Promise<SecureSession>[] = [];
  const server = await startLoopbackServer((t) => {
    sessions.push(
      accept(t, {
        resolveTarget: () => ({ signer: serverSigner }),
        authorizeClient: () => true,
        heartbeatMs: 0,
        idleTimeoutMs: 0,
      }),
    );
  });
  const options = {
    target: { kind: 'ns' as const, id: 'default' },
    server: { keys: [serverSigner.publicKey] },
    identity: clientSigner,
    heartbeatMs: 0,
    idleTimeoutMs: 0,
  };
  // (a) connections opened beforehand (untimed): the handshake alone.
  const pool: Transport[] = [];
  for (let i = 0; i < total; i++) pool.push(await openLoopbackClient(server.url));
  const pre = await rate(total, concurrency, async (i) => {
    const s = await connect(pool[i] as Transport, options);
    s.abort('closed');
  });
  // (b) a new WebSocket connection per handshake (TCP + HTTP upgrade included).
  const full = await rate(total, concurrency, async () => {
    const s = await connect(await openLoopbackClient(server.url), options);
    s.abort('closed');
  });
  await Promise.allSettled(sessions);
  await server.close();
  return { pre, full };
}

const PAYLOAD = 256;
const WINDOW = 64;

/** Raw baseline: AES-GCM encrypt → ws → server decrypts + encrypts → ws → client decrypts. Round trips/s. */
async function rawEcho(total: number): Promise<number> {
  const key = await subtle.importKey('raw', new Uint8Array(32), 'AES-GCM', false, ['encrypt', 'decrypt']);
  const nonce = (n: number) => {
    const iv = new Uint8Array(12);
    new DataView(iv.buffer).setUint32(8, n);
    return iv;
  };
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    maxPayload: 64 * 1024,
    perMessageDeflate: false,
  });
  await new Promise((r) => wss.once('listening', r));
  wss.on('connection', (ws) => {
    let rx = 0;
    let tx = 0;
    let chain = Promise.resolve();
    ws.binaryType = 'arraybuffer'; // as the channel's adapter does
    ws.on('message', (data: ArrayBuffer) => {
      const out = nonce(0x80000000 + tx++);
      const d = subtle.decrypt({ name: 'AES-GCM', iv: nonce(rx++) }, key, data);
      const e = d.then((plain) => subtle.encrypt({ name: 'AES-GCM', iv: out }, key, plain));
      chain = chain.then(() => e.then((ct) => ws.send(ct)));
    });
  });
  const port = (wss.address() as { port: number }).port;
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
  ws.binaryType = 'arraybuffer';
  await new Promise((r) => ws.once('open', r));
  const payload = new Uint8Array(PAYLOAD);
  let sent = 0;
  let received = 0;
  let rx = 0;
  let chain = Promise.resolve();
  const start = now();
  await new Promise<void>((resolve) => {
    const sendOne = () => {
      const p = subtle.encrypt({ name: 'AES-GCM', iv: nonce(sent++) }, key, payload);
      chain = chain.then(() => p.then((ct) => ws.send(ct)));
    };
    ws.on('message', (data: ArrayBuffer) => {
      void subtle.decrypt({ name: 'AES-GCM', iv: nonce(0x80000000 + rx++) }, key, data).then(() => {
        if (++received === total) resolve();
        else if (sent < total) sendOne();
      });
    });
    for (let i = 0; i < WINDOW; i++) sendOne();
  });
  const r = total / ((now() - start) / 1000);
  ws.close();
  await new Promise((res) => wss.close(() => res(undefined)));
  return r;
}

/** The same echo through the channel: session.send → server session echoes → client onData. Round trips/s. */
async function channelEcho(serverSigner: Signer, clientSigner: Signer, total: number): Promise<number> {
  const server = await startLoopbackServer((t) => {
    void accept(t, {
      resolveTarget: () => ({ signer: serverSigner }),
      authorizeClient: () => true,
      heartbeatMs: 0,
      idleTimeoutMs: 0,
    }).then((s) => {
      s.onData = (body) => void s.send(body);
    });
  });
  const session = await connect(await openLoopbackClient(server.url), {
    target: { kind: 'ns', id: 'default' },
    server: { keys: [serverSigner.publicKey] },
    identity: clientSigner,
    heartbeatMs: 0,
    idleTimeoutMs: 0,
  });
  const payload = new Uint8Array(PAYLOAD);
  let sent = 0;
  let received = 0;
  const start = now();
  await new Promise<void>((resolve) => {
    session.onData = () => {
      if (++received === total) resolve();
      else if (sent < total) {
        sent++;
        void session.send(payload);
      }
    };
    for (let i = 0; i < WINDOW; i++) {
      sent++;
      void session.send(payload);
    }
  });
  const r = total / ((now() - start) / 1000);
  await session.close();
  await server.close();
  return r;
}

export async function run(): Promise<void> {
  const serverPair = await generateIdentityKeyPair();
  const clientPair = await generateIdentityKeyPair();
  const serverSigner = await signerFromKeyPair(serverPair);
  const clientSigner = await signerFromKeyPair(clientPair);
  const signPairs = {
    server: (await subtle.generateKey(ECDSA, true, ['sign', 'verify'])) as CryptoKeyPair,
    client: (await subtle.generateKey(ECDSA, true, ['sign', 'verify'])) as CryptoKeyPair,
  };
  // Warm-up (JIT, thread pool, sockets).
  await rate(50, 4, () => primitiveHandshake(signPairs.server, signPairs.client));
  await handshakes(serverSigner, clientSigner, 50, 4);
  await rawEcho(2000);
  await channelEcho(serverSigner, clientSigner, 2000);

  // Interleaved rounds (baseline, then the channel, again and again) and medians: robust on a busy machine.
  const ROUNDS = 5;
  const N = 120;
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] as number;
  const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
  console.log(
    `handshakes: ${ROUNDS} interleaved rounds of ${N}; ceiling = the ECDH + ECDSA + HKDF + AES-GCM WebCrypto ops of one handshake (both sides), no I/O`,
  );
  for (const concurrency of [1, 4]) {
    const ceil: number[] = [];
    const open: number[] = [];
    const fresh: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const ceiling = await rate(N, concurrency, () =>
        primitiveHandshake(signPairs.server, signPairs.client),
      );
      const hs = await handshakes(serverSigner, clientSigner, N, concurrency);
      ceil.push(ceiling);
      open.push(hs.pre / ceiling);
      fresh.push(hs.full / ceiling);
    }
    console.log(
      `  concurrency ${concurrency}: ceiling ${fmt(median(ceil))}/s | handshake on an open ws ${pct(median(open))} of ceiling (~${fmt(
        median(open) * median(ceil),
      )}/s) | incl. new ws connection ${pct(median(fresh))}`,
    );
  }
  const M = 10_000;
  const rec: number[] = [];
  const raws: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const raw = await rawEcho(M);
    const ch = await channelEcho(serverSigner, clientSigner, M);
    raws.push(raw * 2);
    rec.push(ch / raw);
  }
  console.log(
    `records: ${ROUNDS} interleaved rounds of ${M} echo round trips (${PAYLOAD} B, window ${WINDOW}, 2 records each)`,
  );
  console.log(
    `  raw AES-GCM + ws echo ${fmt(median(raws))} records/s | channel ${pct(median(rec))} of it (~${fmt(median(rec) * median(raws))} records/s; target ≥ 60%)`,
  );
  console.log('handshake target: ≥ 50% of the primitive ceiling (handshake on an open ws)');
}
