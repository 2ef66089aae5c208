// In-process fakes for SDK flow tests: memory ports, and NS / SFS behind the real secure channel with fake logic.

import { generatePublisherKey, type PublisherKey } from '../../idp/admin/sdk-config/publisher-key.js';
import { signSdkConfig } from '../../idp/admin/sdk-config/sign.js';
import type { TransportFactory } from '../../mobile-sdk/core/channels.js';
import type { Clock } from '../../mobile-sdk/core/clock.js';
import {
  type BiometricResult,
  type Biometrics,
  type JsonValue,
  type KeyKind,
  type KeyStore,
  KeyStoreError,
  type Storage,
} from '../../mobile-sdk/core/ports.js';
import { NextAuthSdk } from '../../mobile-sdk/core/sdk.js';
import { attestationChallenge } from '../../protocol/attestation-binding.js';
import {
  accept,
  Channel,
  createSuccessionRecord,
  generateIdentityKeyPair,
  MessageError,
  memoryTransportPair,
  type PublicJwk,
  publicKeyFromJwk,
  publicKeyToJwk,
  type SecureSession,
  type Signer,
  type SuccessionRecord,
  signerFromKeyPair,
  type Transport,
  thumbprint,
} from '../../protocol/index.js';
import {
  accountRotationSignedData,
  verifyRotationSignature,
} from '../../protocol/mobile/account-rotation.js';
import type { PinFailure } from '../../protocol/mobile/common.js';
import {
  enrolUri,
  loginUri,
  nsMobileMessages,
  nsServerId,
  sfsMobileMessages,
} from '../../protocol/mobile/index.js';
import { bioSignedData } from '../../protocol/mobile/sfs.js';

/** Platform biometrics for flow tests: an enrolled-set id to change and results to queue. */
export class MemoryBiometrics implements Biometrics {
  enrolled: string | null = 'set-1';
  /** Results of the next prompts, in order (then `success`). */
  readonly next: BiometricResult[] = [];
  readonly prompts: string[] = [];
  async available() {
    return this.enrolled !== null;
  }
  async enrolmentId() {
    return this.enrolled;
  }
  async authenticate(reason: string): Promise<BiometricResult> {
    this.prompts.push(reason);
    if (this.enrolled === null) return 'unavailable';
    return this.next.shift() ?? 'success';
  }
  /** A finger added: a new set. */
  change() {
    this.enrolled = `set-${Math.random().toString(36).slice(2)}`;
  }
}

/** Non-extractable WebCrypto keys in a Map: the KeyStore contract without files. */
export class MemoryKeyStore implements KeyStore {
  readonly hardwareBacked = false;
  readonly keys = new Map<string, { kind: KeyKind; pair?: CryptoKeyPair; hmac?: CryptoKey }>();

  async generate(alias: string, kind: KeyKind = 'ecdsa-p256'): Promise<void> {
    if (this.keys.has(alias)) throw new KeyStoreError('exists');
    if (kind === 'ecdsa-p256') this.keys.set(alias, { kind, pair: await generateIdentityKeyPair() });
    else
      this.keys.set(alias, {
        kind,
        hmac: await crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, false, ['sign']),
      });
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
    if (e.hmac) return new Uint8Array(await crypto.subtle.sign('HMAC', e.hmac, data));
    const signer = await signerFromKeyPair(e.pair as CryptoKeyPair);
    return signer.sign(data);
  }
  async publicJwk(alias: string): Promise<PublicJwk> {
    const e = this.entry(alias);
    if (!e.pair) throw new KeyStoreError('wrong_kind');
    return publicKeyToJwk(new Uint8Array(await crypto.subtle.exportKey('raw', e.pair.publicKey)));
  }
  async delete(alias: string) {
    this.keys.delete(alias);
  }
}

export class MemoryStorage implements Storage {
  readonly docs = new Map<string, JsonValue>();
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

export class TestClock implements Clock {
  constructor(public ms = Date.UTC(2026, 0, 1)) {}
  now() {
    return this.ms;
  }
}

async function newSigner(): Promise<Signer> {
  return signerFromKeyPair(await generateIdentityKeyPair());
}

export const NS_URL = 'https://ns.test';
export const SFS_URL = 'ws://sfs.test/sfs/mobile';

interface Login {
  code: string;
  handle: string;
  status: 'waiting' | 'scanned' | 'loggedin' | 'declined';
  reason?: 'declined' | 'not_me';
  userid?: string;
  /** The integrator's sessioninfo. */
  info?: string;
}

/** A fake NS: virtual servers with real channel keys, enrol tokens, accounts by key, login codes. */
export class FakeNs {
  readonly servers = new Map<string, { signer: Signer; succession: SuccessionRecord[] }>();
  readonly tokens = new Map<string, { server: string; userid: string; used: boolean; info?: string }>();
  readonly accounts = new Map<string, { server: string; userid: string; accountId: string }>();
  readonly logins: Login[] = [];
  /** Every enrol.complete request the fake saw (to check what the phone sent). */
  readonly completes: { description?: string; clientVersion?: string; sdkConfig?: string }[] = [];
  /** Account ids deleted over `account.delete`. */
  readonly deleted: string[] = [];
  /** When set, `account.delete` is refused with this code (e.g. `internal`). */
  refuseDelete: string | null = null;
  /** When set, `account.rotate` is refused with this code before anything changes. */
  refuseRotate: string | null = null;
  /** `account.rotate` switches the key, then fails as if the answer were lost on the way back. */
  loseRotateAnswer = false;
  /** Account key thumbprints NS switched from → to. */
  readonly rotations: { from: string; to: string }[] = [];
  connections = 0;

  static async create(names = ['default']): Promise<FakeNs> {
    const ns = new FakeNs();
    for (const name of names) ns.servers.set(name, { signer: await newSigner(), succession: [] });
    return ns;
  }

  server(name = 'default') {
    const s = this.servers.get(name);
    if (!s) throw new Error(name);
    return s;
  }

  fingerprint(name = 'default'): Promise<string> {
    return thumbprint(this.server(name).signer.publicKey);
  }

  /** Replaces the server key; with `signed` the old key signs the new one (a proper rotation). */
  async rotateKey(name = 'default', signed = true): Promise<void> {
    const s = this.server(name);
    const next = await newSigner();
    s.succession = signed ? [...s.succession, await createSuccessionRecord(s.signer, next.publicKey)] : [];
    s.signer = next;
  }

  /** `info`: the integrator's announceinfo. */
  async enrolUri(userid: string, name = 'default', fp?: string, info?: string): Promise<string> {
    const t = `enrol-${userid}-${crypto.randomUUID()}`.replace(/[^A-Za-z0-9_-]/g, '');
    this.tokens.set(t, { server: name, userid, used: false, ...(info ? { info } : {}) });
    return enrolUri({ v: 1, ns: NS_URL, s: name, fp: fp ?? (await this.fingerprint(name)), t });
  }

  loginUri(name = 'default', info?: string): { uri: string; login: Login } {
    const code = `code${crypto.randomUUID()}`.replace(/[^A-Za-z0-9_-]/g, '');
    const login: Login = {
      code,
      handle: `h${this.logins.length}`,
      status: 'waiting',
      ...(info ? { info } : {}),
    };
    this.logins.push(login);
    return { uri: loginUri({ v: 1, ns: NS_URL, s: name, c: code }), login };
  }

  private info(name: string) {
    return { id: nsServerId(NS_URL, name), name, displayName: `Server ${name}` };
  }

  async serve(transport: Transport): Promise<void> {
    this.connections++;
    let session: SecureSession;
    try {
      session = await accept(transport, {
        resolveTarget: (t) => {
          const s = t.kind === 'ns' ? this.servers.get(t.id) : undefined;
          return s ? { signer: s.signer, succession: s.succession } : null;
        },
        authorizeClient: (c) => c.thumbprint === null || this.accounts.has(c.thumbprint),
      });
    } catch {
      return;
    }
    const name = session.info.target.id;
    const ch = new Channel(session, nsMobileMessages);
    const clientThumb = session.info.clientKey ? await thumbprint(session.info.clientKey) : null;
    const th = session.info.transcriptHash;
    ch.onRequest('enrol.begin', ({ token }) => {
      const t = this.tokens.get(token);
      if (!t || t.used || t.server !== name) throw new MessageError('invalid_token');
      return {
        server: this.info(name),
        userid: t.userid,
        info: t.info ?? null,
        expiresAt: Date.now() + 60_000,
      };
    });
    ch.onRequest('enrol.complete', async (body) => {
      this.completes.push({
        ...(body.description !== undefined ? { description: body.description } : {}),
        ...(body.clientVersion !== undefined ? { clientVersion: body.clientVersion } : {}),
        ...(body.sdkConfig !== undefined ? { sdkConfig: body.sdkConfig } : {}),
      });
      const t = this.tokens.get(body.token);
      if (!t || t.used || t.server !== name) throw new MessageError('invalid_token');
      const keyThumb = await thumbprint(publicKeyFromJwk(body.accountKey));
      const expected = await attestationChallenge({
        serverId: this.info(name).id,
        accountKeyThumbprint: keyThumb,
        transcriptHash: th,
        purpose: 'enrol',
      });
      if (body.attestation !== fakeAttestation(this.info(name).id, expected))
        throw new MessageError('invalid_attestation');
      t.used = true;
      const accountId = `acct-${this.accounts.size + 1}`;
      this.accounts.set(keyThumb, { server: name, userid: t.userid, accountId });
      return { accountId, userid: t.userid, server: this.info(name) };
    });
    ch.onRequest('login.scan', ({ code }) => {
      const account = clientThumb ? this.accounts.get(clientThumb) : undefined;
      if (!account) throw new MessageError('unknown_account');
      const login = this.logins.find((l) => l.code === code && l.status === 'waiting');
      if (!login) throw new MessageError('unknown_code');
      login.status = 'scanned';
      login.userid = account.userid;
      return {
        login: login.handle,
        server: this.info(name),
        userid: account.userid,
        info: login.info ?? null,
        browser: { userAgent: 'Firefox/140', ip: '198.51.100.7', location: 'Berlin, DE' },
        expiresAt: Date.now() + 60_000,
      };
    });
    ch.onRequest('login.confirm', async ({ login: handle, attestation }) => {
      const login = this.logins.find((l) => l.handle === handle && l.status === 'scanned');
      if (!login || !clientThumb) throw new MessageError('unknown_login');
      const expected = await attestationChallenge({
        serverId: this.info(name).id,
        accountKeyThumbprint: clientThumb,
        transcriptHash: th,
        purpose: 'login',
      });
      if (attestation !== fakeAttestation(this.info(name).id, expected))
        throw new MessageError('invalid_attestation');
      login.status = 'loggedin';
      return { status: 'loggedin' as const };
    });
    ch.onRequest('account.rotate', async ({ newKey, oldSignature, newSignature }) => {
      const account = clientThumb ? this.accounts.get(clientThumb) : undefined;
      if (!clientThumb || !account) throw new MessageError('unknown_account');
      if (this.refuseRotate) throw new MessageError(this.refuseRotate as 'internal');
      const newRaw = publicKeyFromJwk(newKey);
      const to = await thumbprint(newRaw);
      const data = accountRotationSignedData(session.info.transcriptHash, to);
      const oldRaw = session.info.clientKey as Uint8Array;
      if (
        !(await verifyRotationSignature(oldRaw, oldSignature, data)) ||
        !(await verifyRotationSignature(newRaw, newSignature, data))
      )
        throw new MessageError('bad_signature');
      this.accounts.delete(clientThumb);
      this.accounts.set(to, account);
      this.rotations.push({ from: clientThumb, to });
      if (this.loseRotateAnswer) throw new MessageError('internal');
      return { status: 'rotated' as const, accountId: account.accountId };
    });
    ch.onRequest('account.delete', () => {
      const account = clientThumb ? this.accounts.get(clientThumb) : undefined;
      if (!clientThumb || !account) throw new MessageError('unknown_account');
      if (this.refuseDelete) throw new MessageError(this.refuseDelete as 'internal');
      this.accounts.delete(clientThumb);
      this.deleted.push(account.accountId);
      return { status: 'deleted' as const, accountId: account.accountId };
    });
    ch.onRequest('login.decline', ({ login: handle, reason }) => {
      const login = this.logins.find((l) => l.handle === handle && l.status === 'scanned');
      if (!login) throw new MessageError('unknown_login');
      login.status = 'declined';
      login.reason = reason;
      return { status: 'declined' as const };
    });
  }
}

/** The fake SFS's "attestation": not a JWS, just what the fake NS can check the binding with. */
export function fakeAttestation(serverId: string, challenge: string): string {
  return `att.${serverId}.${challenge}`;
}

/** A fake SFS: instances by key thumbprint, PIN proofs, attempts and a lockout after `maxAttempts`. */
export class FakeSfs {
  readonly instances = new Map<string, { id: string; proof?: string; failures: number; locked: boolean }>();
  readonly targets: string[] = [];
  attests = 0;
  maxAttempts = 3;
  /** Every serverId a PIN check (attest, pin.change) was counted under. */
  readonly checkedFor: string[] = [];
  /** The answer to the next PIN checks, whatever the PIN (e.g. a last attempt gone, a block). */
  failWith: PinFailure | null = null;
  /** Biometric public keys by instance key thumbprint, with the current nonce. */
  readonly bioKeys = new Map<string, { jwk: PublicJwk; nonce?: string }>();
  bioAllowed = true;
  bioAttests = 0;

  private constructor(readonly signer: Signer) {}

  static async create(): Promise<FakeSfs> {
    return new FakeSfs(await newSigner());
  }

  get publicJwk(): PublicJwk {
    return publicKeyToJwk(this.signer.publicKey);
  }

  async serve(transport: Transport): Promise<void> {
    let session: SecureSession;
    try {
      session = await accept(transport, {
        resolveTarget: (t) => {
          this.targets.push(t.id);
          return t.kind === 'sfs' ? { signer: this.signer } : null;
        },
        authorizeClient: (c) => c.key !== null,
      });
    } catch {
      return;
    }
    const key = await thumbprint(session.info.clientKey as Uint8Array);
    const ch = new Channel(session, sfsMobileMessages);
    const instance = () => {
      const i = this.instances.get(key);
      if (!i) throw new MessageError('unknown_instance');
      return i;
    };
    ch.onRequest('instance.register', () => {
      let i = this.instances.get(key);
      if (!i) {
        i = { id: `inst-${this.instances.size + 1}`, failures: 0, locked: false };
        this.instances.set(key, i);
      }
      return { instanceId: i.id, pinSet: i.proof !== undefined };
    });
    ch.onRequest('pin.set', ({ pinProof }) => {
      const i = instance();
      if (i.proof !== undefined) throw new MessageError('pin_already_set');
      i.proof = pinProof;
      return { ok: true as const };
    });
    /** The fake's whole PIN policy: `maxAttempts` wrong PINs in a row lock the instance. */
    const check = (serverId: string, pinProof: string) => {
      this.checkedFor.push(serverId);
      const i = instance();
      if (i.proof === undefined) throw new MessageError('pin_not_set');
      if (this.failWith) return this.failWith;
      if (i.locked) return { ok: false as const, error: 'pin_locked' as const, retryAfterSeconds: 300 };
      if (pinProof !== i.proof) {
        i.failures++;
        if (i.failures >= this.maxAttempts) {
          i.locked = true;
          return { ok: false as const, error: 'pin_locked' as const, retryAfterSeconds: 300 };
        }
        return {
          ok: false as const,
          error: 'pin_invalid' as const,
          attemptsLeft: this.maxAttempts - i.failures,
        };
      }
      i.failures = 0;
      return null;
    };
    ch.onRequest('attest', async (body) => {
      this.attests++;
      const { serverId, challenge } = body;
      if (body.method === 'bio') {
        instance();
        if (!this.bioAllowed) throw new MessageError('bio_not_allowed');
        const bio = this.bioKeys.get(key);
        if (!bio) throw new MessageError('bio_not_registered');
        if (!bio.nonce || bio.nonce !== body.nonce) throw new MessageError('bio_challenge_invalid');
        const publicKey = await crypto.subtle.importKey(
          'jwk',
          bio.jwk,
          { name: 'ECDSA', namedCurve: 'P-256' },
          false,
          ['verify'],
        );
        const good = await crypto.subtle.verify(
          { name: 'ECDSA', hash: 'SHA-256' },
          publicKey,
          Buffer.from(body.signature, 'base64url'),
          bioSignedData({ nonce: body.nonce, serverId, challenge }),
        );
        if (!good) throw new MessageError('bio_signature_invalid');
        delete bio.nonce;
        this.bioAttests++;
        return {
          ok: true as const,
          attestation: fakeAttestation(serverId, challenge),
          expiresAt: Math.floor(Date.now() / 1000) + 60,
        };
      }
      const failure = check(serverId, body.pinProof);
      if (failure) return failure;
      return {
        ok: true as const,
        attestation: fakeAttestation(serverId, challenge),
        expiresAt: Math.floor(Date.now() / 1000) + 60,
      };
    });
    ch.onRequest('bio.register', ({ serverId, pinProof, publicJwk }) => {
      const failure = check(serverId, pinProof);
      if (failure) return failure;
      this.bioKeys.set(key, { jwk: publicJwk });
      return { ok: true as const };
    });
    ch.onRequest('bio.remove', () => {
      instance();
      return { ok: true as const, removed: this.bioKeys.delete(key) };
    });
    ch.onRequest('bio.challenge', () => {
      instance();
      const bio = this.bioKeys.get(key);
      if (!bio) throw new MessageError('bio_not_registered');
      bio.nonce = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url');
      return { nonce: bio.nonce, expiresAt: Date.now() + 120_000 };
    });
    ch.onRequest('pin.change', ({ serverId, oldPinProof, newPinProof }) => {
      const failure = check(serverId, oldPinProof);
      if (failure) return failure;
      instance().proof = newPinProof;
      return { ok: true as const };
    });
  }
}

/** Routes ws URLs to the fakes over memory transport pairs; anything else does not connect. */
export function fakeTransports(
  ns: FakeNs,
  sfs: FakeSfs,
): TransportFactory & { opened: string[]; refuse: boolean } {
  const opened: string[] = [];
  const factory = async (url: string) => {
    opened.push(url);
    // Set by a test: every connection fails as if the network were down.
    if (transports.refuse) throw new Error('ECONNREFUSED');
    const [client, server] = memoryTransportPair();
    if (url === 'wss://ns.test/ns/mobile') void ns.serve(server);
    else if (url === SFS_URL) void sfs.serve(server);
    else throw new Error('ECONNREFUSED');
    return client;
  };
  const transports = Object.assign(factory, { opened, refuse: false });
  return transports;
}

export interface World {
  ns: FakeNs;
  sfs: FakeSfs;
  publisher: PublisherKey;
  jws: string;
  keyStore: MemoryKeyStore;
  storage: MemoryStorage;
  transports: ReturnType<typeof fakeTransports>;
  clock: TestClock;
  biometrics: MemoryBiometrics;
  sdk: NextAuthSdk;
}

/** A device with a verified SDK configuration pointing at the fake SFS, and a fake NS. */
export async function world(options: { configure?: boolean; servers?: string[] } = {}): Promise<World> {
  const [ns, sfs, publisher] = await Promise.all([
    FakeNs.create(options.servers),
    FakeSfs.create(),
    generatePublisherKey(),
  ]);
  const clock = new TestClock();
  const jws = await signSdkConfig(
    {
      v: 1,
      app: { id: 'test.app', name: 'Test app' },
      sfs: { url: SFS_URL, key: sfs.publicJwk },
      mc: { url: 'ws://mc.test/mc/mobile', key: sfs.publicJwk },
      issuedAt: Math.floor(clock.now() / 1000),
    },
    publisher,
  );
  const keyStore = new MemoryKeyStore();
  const storage = new MemoryStorage();
  const transports = fakeTransports(ns, sfs);
  const biometrics = new MemoryBiometrics();
  const sdk = await NextAuthSdk.open({
    keyStore,
    storage,
    biometrics,
    transports,
    clock,
    deviceDescription: 'test device',
    clientVersion: 'test/1',
  });
  if (options.configure !== false) await sdk.configure(jws, { publisherKey: publisher.publicJwk });
  return { ns, sfs, publisher, jws, keyStore, storage, transports, clock, biometrics, sdk };
}
