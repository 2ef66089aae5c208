// Client (initiator) side of the SIGMA-I handshake (docs/protocol.md §7): hello, verify server, prove identity, await ready.
import { defaultCrypto, ecdsaVerify, generateEcdhKeyPair, hmacSign, importHmacKey } from '../crypto.js';
import { type Bytes, b64u, concat, equalBytes } from '../encoding.js';
import { ChannelError } from '../errors.js';
import { CLIENT_FRAMES, Content, DEFAULT_MAX_FRAME_BYTES, Frame } from '../frames.js';
import { Inbox } from '../inbox.js';
import type { Signer } from '../keys.js';
import { RecordOpener, RecordSealer } from '../record.js';
import { SecureSession } from '../session.js';
import { encodeSuccessionChain, type ServerPin, verifyServerKey } from '../succession.js';
import { DEFAULT_SUITES, negotiate, SUPPORTED_VERSIONS, suiteById } from '../suites.js';
import type { Transport } from '../transport.js';
import {
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  expectFrame,
  type HandshakeOptions,
  nextFrame,
  runHandshake,
} from './common.js';
import {
  deriveApplicationKeys,
  deriveHandshakeKeys,
  LABEL_CLIENT_SIGNATURE,
  LABEL_SERVER_SIGNATURE,
} from './key-schedule.js';
import {
  CloseSchema,
  jsonBytes,
  parseJson,
  remoteError,
  ServerAuthSchema,
  ServerHelloSchema,
  type Target,
} from './messages.js';
import { Entry, Transcript } from './transcript.js';

export interface ClientOptions extends HandshakeOptions {
  /** The server to talk to: named in the first message. */
  target: Target;
  /** Trusted server keys (raw) and/or RFC 7638 thumbprints (enrol QR); succession chains may start at any of them. */
  server: ServerPin;
  /** Account or app-instance key; omit (or null) for the anonymous enrolment variant. */
  identity?: Signer | null;
}

/** Runs the client handshake over `transport`; resolves with the established session or fails closed. */
export function connect(transport: Transport, options: ClientOptions): Promise<SecureSession> {
  const c = options.crypto ?? defaultCrypto();
  const versions = options.versions ?? SUPPORTED_VERSIONS;
  const suites = options.suites ?? DEFAULT_SUITES;
  const inbox = new Inbox(transport, options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
  return runHandshake(
    transport,
    inbox,
    options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
    async () => {
      if (suites.some((s) => !suiteById(s)))
        throw new ChannelError('unsupported_suite', 'unknown suite configured');
      if (!options.server.keys?.length && !options.server.fingerprints?.length) {
        throw new ChannelError('bad_server_key', 'no pinned server key or fingerprint');
      }
      const eph = options.ephemeral ?? (await generateEcdhKeyPair(c));
      const ephPublic = eph.publicRaw;
      const hello = jsonBytes({
        type: 'client_hello',
        v: versions,
        suites,
        target: options.target,
        eph: b64u(ephPublic),
        nonce: b64u(c.random(32)),
      });
      transport.send(concat(Uint8Array.of(Frame.clientHello), hello));
      const t = new Transcript();
      t.add(Entry.clientHello, hello);

      // server_hello: check the negotiation before anything else (downgrade), then bind it into the transcript.
      const shFrame = await nextFrame(inbox, CLIENT_FRAMES);
      expectFrame(shFrame, Frame.serverHello, 'server_hello');
      const shBytes = shFrame.slice(1);
      const sh = parseJson(ServerHelloSchema, shBytes, 'server_hello');
      if (!versions.includes(sh.v))
        throw new ChannelError('version_mismatch', `server chose unoffered version ${sh.v}`);
      if (!suites.includes(sh.suite))
        throw new ChannelError('unsupported_suite', `server chose unoffered ${sh.suite}`);
      if (
        negotiate(sh.supported.v, versions) !== sh.v ||
        negotiate(sh.supported.suites, suites) !== sh.suite
      ) {
        throw new ChannelError('downgrade', 'server did not choose the best common version and suite');
      }
      const suite = suiteById(sh.suite);
      if (!suite) throw new ChannelError('unsupported_suite', sh.suite);
      t.add(Entry.serverHello, shBytes);
      const [shared, th2] = await Promise.all([
        eph.agree(sh.eph).catch((cause: unknown) => {
          throw new ChannelError('malformed', 'server ephemeral key is not a P-256 point', { cause });
        }),
        t.hash(c),
      ]);
      const hk = await deriveHandshakeKeys(c, shared, th2, suite);
      const [saOpener, cfSealer, serverMacKey, clientMacKey] = await Promise.all([
        RecordOpener.create(c, hk.s2c.key, hk.s2c.iv, Frame.serverAuth),
        RecordSealer.create(c, hk.c2s.key, hk.c2s.iv, Frame.clientFinish),
        importHmacKey(c, hk.serverMacKey),
        importHmacKey(c, hk.clientMacKey),
      ]);

      // server_auth: identity (+ succession), signature over T3, MAC over T4.
      const saFrame = await nextFrame(inbox, CLIENT_FRAMES);
      expectFrame(saFrame, Frame.serverAuth, 'server_auth');
      const saRecord = await saOpener.open(saFrame);
      if (saRecord.contentType !== Content.handshake) {
        throw new ChannelError('unexpected_message', 'server_auth');
      }
      const sa = parseJson(ServerAuthSchema, saRecord.body, 'server_auth');
      const { rotated } = await verifyServerKey(sa.key, sa.succession, options.server, c);
      t.add(Entry.serverIdentity, concat(sa.key, encodeSuccessionChain(sa.succession)));
      const signedBytes = concat(LABEL_SERVER_SIGNATURE, t.bytes());
      t.add(Entry.serverSignature, sa.sig);
      const [sigOk, expectedMac] = await Promise.all([
        ecdsaVerify(c, sa.key, sa.sig, signedBytes).catch(() => false),
        hmacSign(c, serverMacKey, t.bytes()),
      ]);
      if (!sigOk) throw new ChannelError('bad_signature', 'server signature does not verify');
      if (!equalBytes(expectedMac, sa.mac)) throw new ChannelError('bad_mac', 'server MAC does not verify');
      t.add(Entry.serverMac, sa.mac);

      // client_finish: identity, signature over T6, MAC over T7 (anonymous: empty identity and signature).
      const identity = options.identity ?? null;
      const empty: Bytes = new Uint8Array(0);
      t.add(Entry.clientIdentity, identity ? identity.publicKey : empty);
      const sig = identity ? await identity.sign(concat(LABEL_CLIENT_SIGNATURE, t.bytes())) : empty;
      t.add(Entry.clientSignature, sig);
      const mac = await hmacSign(c, clientMacKey, t.bytes());
      t.add(Entry.clientMac, mac);
      const finish = jsonBytes({
        type: 'client_finish',
        key: identity ? b64u(identity.publicKey) : null,
        sig: identity ? b64u(sig) : null,
        mac: b64u(mac),
      });
      const [cfFrame, th8] = await Promise.all([cfSealer.seal(Content.handshake, finish), t.hash(c)]);
      transport.send(cfFrame);

      // Application keys; the server's first record says it accepted us.
      const ak = await deriveApplicationKeys(c, shared, th8, suite);
      const [opener, sealer] = await Promise.all([
        RecordOpener.create(c, ak.s2c.key, ak.s2c.iv, Frame.recordS2C),
        RecordSealer.create(c, ak.c2s.key, ak.c2s.iv, Frame.recordC2S),
      ]);
      const readyFrame = await nextFrame(inbox, CLIENT_FRAMES);
      expectFrame(readyFrame, Frame.recordS2C, 'ready');
      const ready = await opener.open(readyFrame);
      if (ready.contentType === Content.close) {
        const close = parseJson(CloseSchema, ready.body, 'close');
        throw remoteError(close.code, close.message);
      }
      if (ready.contentType !== Content.ready) throw new ChannelError('unexpected_message', 'expected ready');
      const info = {
        role: 'client' as const,
        version: sh.v,
        suite: sh.suite,
        target: options.target,
        transcriptHash: th8,
        serverKey: sa.key,
        serverKeyRotated: rotated,
        clientKey: identity ? identity.publicKey : null,
      };
      return new SecureSession(transport, sealer, opener, info, options, inbox.drain());
    },
  );
}
