// Server (responder) side of the SIGMA-I handshake (docs/protocol.md §7): resolve target, prove identity, verify client.
import { defaultCrypto, ecdsaVerify, generateEcdhKeyPair, hmacSign, importHmacKey } from '../crypto.js';
import { type Bytes, b64u, concat, equalBytes } from '../encoding.js';
import { ChannelError } from '../errors.js';
import { Content, DEFAULT_MAX_FRAME_BYTES, Frame, SERVER_FRAMES } from '../frames.js';
import { Inbox } from '../inbox.js';
import { type Signer, thumbprint } from '../keys.js';
import { RecordOpener, RecordSealer } from '../record.js';
import { SecureSession } from '../session.js';
import { encodeSuccessionChain, type SuccessionRecord, successionToJson } from '../succession.js';
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
import { ClientFinishSchema, ClientHelloSchema, jsonBytes, parseJson, type Target } from './messages.js';
import { Entry, Transcript } from './transcript.js';

/** The key a target (NS virtual server / SFS / MC) signs with, and the chain from keys clients may have pinned. */
export interface ServerIdentity {
  signer: Signer;
  succession?: readonly SuccessionRecord[];
}

export interface ClientCandidate {
  /** Raw client key; null for an anonymous (enrolment) client. */
  key: Bytes | null;
  /** RFC 7638 thumbprint of `key`. */
  thumbprint: string | null;
  target: Target;
  transcriptHash: Bytes;
}

export interface ServerOptions extends HandshakeOptions {
  /** Looks up the identity for the named target; null → `unknown_target`. */
  resolveTarget(target: Target): ServerIdentity | null | Promise<ServerIdentity | null>;
  /** Decides whether this (authenticated) client key, or an anonymous client, may proceed; false → `bad_client_key`. */
  authorizeClient(client: ClientCandidate): boolean | Promise<boolean>;
}

/** Runs the server handshake over `transport`; resolves with the established session or fails closed. */
export function accept(transport: Transport, options: ServerOptions): Promise<SecureSession> {
  const c = options.crypto ?? defaultCrypto();
  const versions = options.versions ?? SUPPORTED_VERSIONS;
  const suites = options.suites ?? DEFAULT_SUITES;
  const inbox = new Inbox(transport, options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
  return runHandshake(
    transport,
    inbox,
    options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
    async () => {
      const chFrame = await nextFrame(inbox, SERVER_FRAMES);
      expectFrame(chFrame, Frame.clientHello, 'client_hello');
      const chBytes = chFrame.slice(1);
      const ch = parseJson(ClientHelloSchema, chBytes, 'client_hello');
      const version = negotiate(versions, ch.v);
      if (version === undefined) throw new ChannelError('version_mismatch', `no common version in [${ch.v}]`);
      const suiteId = negotiate(suites, ch.suites);
      const suite = suiteId === undefined ? undefined : suiteById(suiteId);
      if (!suite) throw new ChannelError('unsupported_suite', 'no common cipher suite');
      const [identity, eph] = await Promise.all([
        options.resolveTarget(ch.target),
        options.ephemeral ?? generateEcdhKeyPair(c),
      ]);
      if (!identity) throw new ChannelError('unknown_target', `${ch.target.kind}/${ch.target.id}`);
      const chain = identity.succession ?? [];
      const ephPublic = eph.publicRaw;
      const shared = await eph.agree(ch.eph).catch((cause: unknown) => {
        throw new ChannelError('malformed', 'client ephemeral key is not a P-256 point', { cause });
      });
      const hello = jsonBytes({
        type: 'server_hello',
        v: version,
        suite: suite.id,
        supported: { v: versions, suites },
        eph: b64u(ephPublic),
        nonce: b64u(c.random(32)),
      });
      transport.send(concat(Uint8Array.of(Frame.serverHello), hello));
      const t = new Transcript();
      t.add(Entry.clientHello, chBytes);
      t.add(Entry.serverHello, hello);
      const hk = await deriveHandshakeKeys(c, shared, await t.hash(c), suite);
      const [saSealer, cfOpener, serverMacKey, clientMacKey] = await Promise.all([
        RecordSealer.create(c, hk.s2c.key, hk.s2c.iv, Frame.serverAuth),
        RecordOpener.create(c, hk.c2s.key, hk.c2s.iv, Frame.clientFinish),
        importHmacKey(c, hk.serverMacKey),
        importHmacKey(c, hk.clientMacKey),
      ]);

      // server_auth: identity (+ succession), signature over T3, MAC over T4.
      const serverKey = identity.signer.publicKey;
      t.add(Entry.serverIdentity, concat(serverKey, encodeSuccessionChain(chain)));
      const serverSig = await identity.signer.sign(concat(LABEL_SERVER_SIGNATURE, t.bytes()));
      t.add(Entry.serverSignature, serverSig);
      const serverMac = await hmacSign(c, serverMacKey, t.bytes());
      t.add(Entry.serverMac, serverMac);
      const auth = jsonBytes({
        type: 'server_auth',
        key: b64u(serverKey),
        succession: chain.map(successionToJson),
        sig: b64u(serverSig),
        mac: b64u(serverMac),
      });
      transport.send(await saSealer.seal(Content.handshake, auth));

      // client_finish: signature over T6 (unless anonymous), MAC over T7.
      const cfFrame = await nextFrame(inbox, SERVER_FRAMES);
      expectFrame(cfFrame, Frame.clientFinish, 'client_finish');
      const cfRecord = await cfOpener.open(cfFrame);
      if (cfRecord.contentType !== Content.handshake) {
        throw new ChannelError('unexpected_message', 'client_finish');
      }
      const cf = parseJson(ClientFinishSchema, cfRecord.body, 'client_finish');
      if ((cf.key === null) !== (cf.sig === null)) {
        throw new ChannelError('malformed', 'client key without signature');
      }
      const empty: Bytes = new Uint8Array(0);
      t.add(Entry.clientIdentity, cf.key ?? empty);
      const signedBytes = concat(LABEL_CLIENT_SIGNATURE, t.bytes());
      t.add(Entry.clientSignature, cf.sig ?? empty);
      const [sigOk, expectedMac] = await Promise.all([
        cf.key && cf.sig ? ecdsaVerify(c, cf.key, cf.sig, signedBytes).catch(() => false) : true,
        hmacSign(c, clientMacKey, t.bytes()),
      ]);
      if (!sigOk) throw new ChannelError('bad_signature', 'client signature does not verify');
      if (!equalBytes(expectedMac, cf.mac)) throw new ChannelError('bad_mac', 'client MAC does not verify');
      t.add(Entry.clientMac, cf.mac);
      const [th8, fingerprint] = await Promise.all([t.hash(c), cf.key ? thumbprint(cf.key, c) : null]);
      const allowed = await options.authorizeClient({
        key: cf.key,
        thumbprint: fingerprint,
        target: ch.target,
        transcriptHash: th8,
      });
      if (!allowed) {
        throw new ChannelError(
          'bad_client_key',
          cf.key ? 'client key not authorized' : 'anonymous client refused',
        );
      }

      const ak = await deriveApplicationKeys(c, shared, th8, suite);
      const [sealer, opener] = await Promise.all([
        RecordSealer.create(c, ak.s2c.key, ak.s2c.iv, Frame.recordS2C),
        RecordOpener.create(c, ak.c2s.key, ak.c2s.iv, Frame.recordC2S),
      ]);
      transport.send(await sealer.seal(Content.ready, empty));
      const info = {
        role: 'server' as const,
        version,
        suite: suite.id,
        target: ch.target,
        transcriptHash: th8,
        serverKey,
        serverKeyRotated: false,
        clientKey: cf.key,
      };
      return new SecureSession(transport, sealer, opener, info, options, inbox.drain());
    },
  );
}
