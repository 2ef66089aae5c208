// Test-vector construction and replay (docs/protocol.md §12): fixed keys, ephemerals and nonces replay byte-exactly.
import { expect } from 'chai';
import {
  aesGcmDecrypt,
  type CryptoProvider,
  defaultCrypto,
  ECDH_P256,
  ECDSA_P256,
  ecdh,
  ecdhKeyPairFromCryptoKeys,
  ecdsaSign,
  hmacSha256,
  importAesGcmKey,
} from '../../protocol/crypto.js';
import { type Bytes, b64u, concat, fromB64u, fromHex, hex, utf8 } from '../../protocol/encoding.js';
import { ChannelError } from '../../protocol/errors.js';
import { Content, Frame } from '../../protocol/frames.js';
import {
  deriveApplicationKeys,
  deriveHandshakeKeys,
  LABEL_CLIENT_SIGNATURE,
  LABEL_SERVER_SIGNATURE,
} from '../../protocol/handshake/key-schedule.js';
import { Entry, Transcript } from '../../protocol/handshake/transcript.js';
import {
  accept,
  connect,
  memoryTransportPair,
  type SecureSession,
  type Signer,
  type SuccessionRecordJson,
  successionFromJson,
  suiteById,
  type Transport,
  thumbprint,
} from '../../protocol/index.js';
import { RecordSealer, recordNonce } from '../../protocol/record.js';
import { encodeSuccessionChain, successionSigningInput } from '../../protocol/succession.js';

export interface PrivateJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
  d: string;
}

export interface VectorInputs {
  name: string;
  target: { kind: 'ns' | 'sfs' | 'mc'; id: string };
  offer: { v: number[]; suites: string[] };
  accept: { v: number[]; suites: string[] };
  clientIdentity: PrivateJwk | null;
  serverIdentity: PrivateJwk;
  clientEphemeral: PrivateJwk;
  serverEphemeral: PrivateJwk;
  clientNonce: string; // hex
  serverNonce: string; // hex
  succession: SuccessionRecordJson[];
  pin: { keys?: string[]; fingerprints?: string[] }; // keys as base64url raw points
  /** Messages after the handshake: data records, in order. */
  records: { dir: 'c2s' | 's2c'; json: unknown }[];
}

export interface VectorFrame {
  dir: 'c2s' | 's2c';
  name: string;
  hex: string;
  plaintext?: string; // hex of content type ‖ body, for encrypted frames
}

export interface HandshakeVector extends VectorInputs {
  signatures: { server: string; client: string | null }; // hex r ‖ s
  intermediate: Record<string, string | null>;
  frames: VectorFrame[];
  negative: { name: string; replace: number; hex: string; client_error: string }[];
}

function rawPublic(jwk: PrivateJwk): Bytes {
  return concat(Uint8Array.of(4), fromB64u(jwk.x), fromB64u(jwk.y));
}

async function importPair(
  c: CryptoProvider,
  jwk: PrivateJwk,
  kind: 'ECDH' | 'ECDSA',
): Promise<CryptoKeyPair> {
  const alg = kind === 'ECDH' ? ECDH_P256 : ECDSA_P256;
  const privateKey = await c.subtle.importKey(
    'jwk',
    jwk,
    alg,
    false,
    kind === 'ECDH' ? ['deriveBits'] : ['sign'],
  );
  const { d: _d, ...pub } = jwk;
  const publicKey = await c.subtle.importKey('jwk', pub, alg, true, kind === 'ECDH' ? [] : ['verify']);
  return { privateKey, publicKey };
}

function fixedRandom(c: CryptoProvider, bytes: Bytes): CryptoProvider {
  return {
    ...c,
    random(n) {
      if (n !== bytes.length) throw new Error(`unexpected random(${n})`);
      return bytes.slice();
    },
  };
}

/** Signs for real (generation) or returns the recorded signature after checking what is signed (replay). */
function signer(
  c: CryptoProvider,
  pair: CryptoKeyPair,
  jwk: PrivateJwk,
  log: Bytes[],
  recorded?: string | null,
): Signer {
  return {
    publicKey: rawPublic(jwk),
    async sign(data) {
      log.push(data);
      return recorded ? fromHex(recorded) : ecdsaSign(c, pair.privateKey, data);
    },
  };
}

const frameNames: Record<number, string> = {
  [Frame.clientHello]: 'client_hello',
  [Frame.serverHello]: 'server_hello',
  [Frame.serverAuth]: 'server_auth',
  [Frame.clientFinish]: 'client_finish',
  [Frame.recordC2S]: 'record',
  [Frame.recordS2C]: 'record',
};

/** Runs both sides with the fixed inputs over a recording memory pair. */
async function run(v: VectorInputs, recorded?: HandshakeVector['signatures']) {
  const c = defaultCrypto();
  const [ct, st] = memoryTransportPair();
  const frames: VectorFrame[] = [];
  const tap = (t: Transport, dir: 'c2s' | 's2c') => {
    const send = t.send.bind(t);
    t.send = (f) => {
      frames.push({ dir, name: frameNames[f[0] as number] ?? 'unknown', hex: hex(f) });
      send(f);
    };
  };
  tap(ct, 'c2s');
  tap(st, 's2c');
  const signed = { client: [] as Bytes[], server: [] as Bytes[] };
  const serverPair = await importPair(c, v.serverIdentity, 'ECDSA');
  const clientPair = v.clientIdentity ? await importPair(c, v.clientIdentity, 'ECDSA') : null;
  // Import everything first: a frame sent before the other side is attached would be lost.
  const clientEphemeral = await ecdhKeyPairFromCryptoKeys(c, await importPair(c, v.clientEphemeral, 'ECDH'));
  const serverEphemeral = await ecdhKeyPairFromCryptoKeys(c, await importPair(c, v.serverEphemeral, 'ECDH'));
  const [client, server] = await Promise.all([
    connect(ct, {
      target: v.target,
      versions: v.offer.v,
      suites: v.offer.suites,
      server: {
        keys: v.pin.keys?.map(fromB64u),
        fingerprints: v.pin.fingerprints,
      },
      identity:
        clientPair && v.clientIdentity
          ? signer(c, clientPair, v.clientIdentity, signed.client, recorded?.client)
          : null,
      crypto: fixedRandom(c, fromHex(v.clientNonce)),
      ephemeral: clientEphemeral,
      heartbeatMs: 0,
      idleTimeoutMs: 0,
    }),
    accept(st, {
      versions: v.accept.v,
      suites: v.accept.suites,
      resolveTarget: () => ({
        signer: signer(c, serverPair, v.serverIdentity, signed.server, recorded?.server),
        succession: v.succession.map(successionFromJson),
      }),
      authorizeClient: () => true,
      crypto: fixedRandom(c, fromHex(v.serverNonce)),
      ephemeral: serverEphemeral,
      heartbeatMs: 0,
      idleTimeoutMs: 0,
    }),
  ]);
  const sessions: Record<'c2s' | 's2c', SecureSession> = { c2s: client, s2c: server };
  for (const r of v.records) await sessions[r.dir].send(utf8(JSON.stringify(r.json)));
  await client.close();
  await server.closed;
  return { frames, signed, client, server };
}

/** Independent step-by-step computation of the handshake from inputs and frames (the executable spec). */
async function reference(v: VectorInputs, frames: VectorFrame[]) {
  const c = defaultCrypto();
  const suite = suiteById(v.accept.suites.find((s) => v.offer.suites.includes(s)) ?? '');
  if (!suite) throw new Error('no suite');
  const bytes = (i: number) => fromHex((frames[i] as VectorFrame).hex);
  const ch = bytes(0).slice(1);
  const sh = bytes(1).slice(1);
  const t = new Transcript();
  t.add(Entry.clientHello, ch);
  t.add(Entry.serverHello, sh);
  const th2 = await t.hash(c);
  const clientEph = await importPair(c, v.clientEphemeral, 'ECDH');
  const shared = await ecdh(c, clientEph.privateKey, rawPublic(v.serverEphemeral));
  const hk = await deriveHandshakeKeys(c, shared, th2, suite);
  const open = async (frame: Bytes, key: Bytes, iv: Bytes) => {
    const k = await importAesGcmKey(c, key);
    const seq = 0;
    return aesGcmDecrypt(c, k, recordNonce(iv, seq), frame.subarray(0, 9), frame.subarray(9));
  };
  const saPlain = await open(bytes(2), hk.s2c.key, hk.s2c.iv);
  const sa = JSON.parse(new TextDecoder().decode(saPlain.subarray(1)));
  const serverKey = fromB64u(sa.key);
  t.add(Entry.serverIdentity, concat(serverKey, encodeSuccessionChain(v.succession.map(successionFromJson))));
  const serverSigInput = concat(LABEL_SERVER_SIGNATURE, t.bytes());
  t.add(Entry.serverSignature, fromB64u(sa.sig));
  const serverMac = await hmacSha256(c, hk.serverMacKey, t.bytes());
  t.add(Entry.serverMac, serverMac);
  const cfPlain = await open(bytes(3), hk.c2s.key, hk.c2s.iv);
  const cf = JSON.parse(new TextDecoder().decode(cfPlain.subarray(1)));
  const empty = new Uint8Array(0);
  t.add(Entry.clientIdentity, cf.key ? fromB64u(cf.key) : empty);
  const clientSigInput = cf.key ? concat(LABEL_CLIENT_SIGNATURE, t.bytes()) : null;
  t.add(Entry.clientSignature, cf.sig ? fromB64u(cf.sig) : empty);
  const clientMac = await hmacSha256(c, hk.clientMacKey, t.bytes());
  t.add(Entry.clientMac, clientMac);
  const th8 = await t.hash(c);
  const ak = await deriveApplicationKeys(c, shared, th8, suite);
  return {
    hk,
    intermediate: {
      server_key_thumbprint: await thumbprint(serverKey, c),
      client_key_thumbprint: v.clientIdentity ? await thumbprint(rawPublic(v.clientIdentity), c) : null,
      ecdh_shared: hex(shared),
      th2: hex(th2),
      hs_c2s_key: hex(hk.c2s.key),
      hs_c2s_iv: hex(hk.c2s.iv),
      hs_s2c_key: hex(hk.s2c.key),
      hs_s2c_iv: hex(hk.s2c.iv),
      client_mac_key: hex(hk.clientMacKey),
      server_mac_key: hex(hk.serverMacKey),
      server_auth_plaintext: hex(saPlain),
      server_signature_input: hex(serverSigInput),
      server_mac: hex(serverMac),
      client_finish_plaintext: hex(cfPlain),
      client_signature_input: clientSigInput ? hex(clientSigInput) : null,
      client_mac: hex(clientMac),
      th8: hex(th8),
      ap_c2s_key: hex(ak.c2s.key),
      ap_c2s_iv: hex(ak.c2s.iv),
      ap_s2c_key: hex(ak.s2c.key),
      ap_s2c_iv: hex(ak.s2c.iv),
    } as Record<string, string | null>,
  };
}

/** Re-seals server_auth with one field changed (the attacker cannot do this: it needs the handshake keys). */
async function tamperedServerAuth(
  hk: { s2c: { key: Bytes; iv: Bytes } },
  plain: Bytes,
  field: 'sig' | 'mac',
) {
  const c = defaultCrypto();
  const sa = JSON.parse(new TextDecoder().decode(plain.subarray(1)));
  const raw = fromB64u(sa[field]);
  raw[3] = (raw[3] as number) ^ 0x01;
  sa[field] = b64u(raw);
  const sealer = await RecordSealer.create(c, hk.s2c.key, hk.s2c.iv, Frame.serverAuth);
  return sealer.seal(Content.handshake, utf8(JSON.stringify(sa)));
}

/** Builds a complete vector (used by generate-vectors.ts; signatures are fresh, everything else is fixed). */
export async function buildVector(v: VectorInputs): Promise<HandshakeVector> {
  const r = await run(v);
  const ref = await reference(v, r.frames);
  const sigOf = (plain: string | null) =>
    plain ? (JSON.parse(new TextDecoder().decode(fromHex(plain).subarray(1))).sig as string | null) : null;
  const serverSig = sigOf(ref.intermediate.server_auth_plaintext ?? null);
  const clientSig = sigOf(ref.intermediate.client_finish_plaintext ?? null);
  const withPlain = await decryptAll(r.frames, ref.intermediate);
  const plainSa = fromHex(ref.intermediate.server_auth_plaintext as string);
  return {
    ...v,
    signatures: {
      server: hex(fromB64u(serverSig as string)),
      client: clientSig ? hex(fromB64u(clientSig)) : null,
    },
    intermediate: ref.intermediate,
    frames: withPlain,
    negative: [
      {
        name: 'server signature bit flipped inside server_auth',
        replace: 2,
        hex: hex(await tamperedServerAuth(ref.hk, plainSa, 'sig')),
        client_error: 'bad_signature',
      },
      {
        name: 'server MAC bit flipped inside server_auth',
        replace: 2,
        hex: hex(await tamperedServerAuth(ref.hk, plainSa, 'mac')),
        client_error: 'bad_mac',
      },
      {
        name: 'server_auth ciphertext bit flipped',
        replace: 2,
        hex: hex(flip(fromHex((r.frames[2] as VectorFrame).hex), 30)),
        client_error: 'decrypt_failed',
      },
    ],
  };
}

function flip(b: Bytes, i: number): Bytes {
  const out = b.slice();
  out[i] = (out[i] as number) ^ 0x01;
  return out;
}

/** Adds the plaintext (content type ‖ body) of every encrypted frame. */
async function decryptAll(frames: VectorFrame[], im: Record<string, string | null>): Promise<VectorFrame[]> {
  const c = defaultCrypto();
  const keys = {
    [Frame.serverAuth]: [im.hs_s2c_key, im.hs_s2c_iv],
    [Frame.clientFinish]: [im.hs_c2s_key, im.hs_c2s_iv],
    [Frame.recordC2S]: [im.ap_c2s_key, im.ap_c2s_iv],
    [Frame.recordS2C]: [im.ap_s2c_key, im.ap_s2c_iv],
  } as Record<number, [string, string]>;
  const seqs: Record<number, number> = {};
  const out: VectorFrame[] = [];
  for (const f of frames) {
    const b = fromHex(f.hex);
    const kv = keys[b[0] as number];
    if (!kv) {
      out.push(f);
      continue;
    }
    const seq = seqs[b[0] as number] ?? 0;
    seqs[b[0] as number] = seq + 1;
    const k = await importAesGcmKey(c, fromHex(kv[0]));
    const plain = await aesGcmDecrypt(
      c,
      k,
      recordNonce(fromHex(kv[1]), seq),
      b.subarray(0, 9),
      b.subarray(9),
    );
    const content = Object.entries(Content).find(([, n]) => n === plain[0])?.[0] ?? 'unknown';
    out.push({ ...f, name: f.name === 'record' ? content : f.name, plaintext: hex(plain) });
  }
  return out;
}

/** A peer that checks every frame it receives against the vector and answers with the recorded frames. */
function scriptedPeer(
  t: Transport,
  frames: VectorFrame[],
  mine: 'c2s' | 's2c',
  replace?: { index: number; hex: string },
) {
  let next = 0;
  const mismatches: string[] = [];
  const flush = () => {
    while (next < frames.length && (frames[next] as VectorFrame).dir === mine) {
      const i = next++;
      t.send(fromHex(replace?.index === i ? replace.hex : (frames[i] as VectorFrame).hex));
    }
  };
  t.onmessage = (f) => {
    const expected = frames[next];
    if (typeof f === 'string' || !expected || expected.dir === mine) {
      mismatches.push(`unexpected frame at ${next}`);
      return;
    }
    if (hex(f) !== expected.hex) mismatches.push(`frame ${next} (${expected.name}) differs`);
    next++;
    flush();
  };
  t.onclose = () => {};
  return { flush, mismatches, done: () => next };
}

/** Replays one vector: both real sides against scripted peers byte-exactly, the reference computation, negatives. */
export async function replayVector(v: HandshakeVector): Promise<void> {
  // 1. The reference computation from inputs and recorded frames gives the recorded intermediates.
  const ref = await reference(v, v.frames);
  expect(ref.intermediate).to.deep.equal(v.intermediate);
  const c = defaultCrypto();
  // 2. The recorded signatures verify (the real sides check them again below).
  const serverSigned = fromHex(v.intermediate.server_signature_input as string);
  const serverPub = await c.subtle.importKey('raw', rawPublic(v.serverIdentity), ECDSA_P256, false, [
    'verify',
  ]);
  expect(
    await c.subtle.verify(
      { name: 'ECDSA', hash: 'SHA-256' },
      serverPub,
      fromHex(v.signatures.server),
      serverSigned,
    ),
  ).to.be.true;
  // 3. Both real implementations produce the recorded frames byte-exactly (all of them, both directions).
  const r = await run(v, v.signatures);
  expect(r.frames.map((f) => `${f.dir} ${f.hex}`)).to.deep.equal(v.frames.map((f) => `${f.dir} ${f.hex}`));
  expect(hex(r.client.info.transcriptHash)).to.equal(v.intermediate.th8);
  expect(hex(r.signed.server[0] as Bytes)).to.equal(v.intermediate.server_signature_input);
  // 4. The client alone against a scripted server that answers with the recorded frames.
  await replayClient(v);
  // 5. Tampered server_auth variants fail with their codes.
  for (const n of v.negative) {
    const err = await replayClient(v, { index: n.replace, hex: n.hex }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err, n.name).to.be.instanceOf(ChannelError);
    expect((err as ChannelError).code, n.name).to.equal(n.client_error);
  }
}

async function replayClient(v: HandshakeVector, replace?: { index: number; hex: string }): Promise<void> {
  const c = defaultCrypto();
  const [ct, st] = memoryTransportPair();
  const handshakeFrames = v.frames.slice(0, 5);
  const peer = scriptedPeer(st, handshakeFrames, 's2c', replace);
  const clientPair = v.clientIdentity ? await importPair(c, v.clientIdentity, 'ECDSA') : null;
  const session = await connect(ct, {
    target: v.target,
    versions: v.offer.v,
    suites: v.offer.suites,
    server: { keys: v.pin.keys?.map(fromB64u), fingerprints: v.pin.fingerprints },
    identity:
      clientPair && v.clientIdentity
        ? signer(c, clientPair, v.clientIdentity, [], v.signatures.client)
        : null,
    crypto: fixedRandom(c, fromHex(v.clientNonce)),
    ephemeral: await ecdhKeyPairFromCryptoKeys(c, await importPair(c, v.clientEphemeral, 'ECDH')),
    heartbeatMs: 0,
    idleTimeoutMs: 0,
  });
  expect(peer.mismatches).to.deep.equal([]);
  expect(peer.done()).to.equal(5);
  expect(hex(session.info.transcriptHash)).to.equal(v.intermediate.th8);
  ct.onclose = null;
  st.close(1000, 'done');
}

/** The succession signing input for documentation vectors. */
export function successionInput(oldKey: Bytes, newKey: Bytes): Bytes {
  return successionSigningInput(oldKey, newKey);
}
