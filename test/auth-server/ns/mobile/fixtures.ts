// NS enrolment/login set-up on one database: server keys, an SFS-like attestation signer, the `/ns/mobile`
// endpoint over in-memory transports, and real secure-channel clients for the phone.
import { PassThrough } from 'node:stream';
import { expect } from 'chai';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import type { Knex } from 'knex';
import { FixedClock, systemRandom } from '../../../../auth-server/common/clock.js';
import { type GeoIp, noGeoIp } from '../../../../auth-server/common/geoip/index.js';
import type { MobileEndpoint } from '../../../../auth-server/common/http/mobile-sockets.js';
import { MemoryKv } from '../../../../auth-server/common/kv/memory.js';
import { createLogger, type Logger } from '../../../../auth-server/common/logging.js';
import type { SfsPeer } from '../../../../auth-server/common/peers.js';
import {
  type AccountAdminService,
  createAccountAdminService,
} from '../../../../auth-server/ns/accounts/admin.js';
import { createAccountRepository } from '../../../../auth-server/ns/accounts/repository.js';
import { type AccountService, createAccountService } from '../../../../auth-server/ns/accounts/service.js';
import { createAttestationChecker } from '../../../../auth-server/ns/attestation/check.js';
import { type AuditService, createAuditService } from '../../../../auth-server/ns/audit/service.js';
import {
  createMobileLoginService,
  type MobileLoginService,
} from '../../../../auth-server/ns/logins/service.js';
import { createNsMobileEndpoint } from '../../../../auth-server/ns/mobile/endpoint.js';
import type { MobileLimits } from '../../../../auth-server/ns/mobile/limits.js';
import { createPushService } from '../../../../auth-server/ns/push/service.js';
import {
  createServerIdentityService,
  type ServerIdentityService,
} from '../../../../auth-server/ns/servers/identity.js';
import { createVirtualServerRepository } from '../../../../auth-server/ns/servers/repository.js';
import { createSessionService, type SessionService } from '../../../../auth-server/ns/sessions/service.js';
import { signAttestation } from '../../../../auth-server/sfs/attestations/issue.js';
import type { AttestationPurpose } from '../../../../protocol/attestation-binding.js';
import { attestationChallenge } from '../../../../protocol/attestation-binding.js';
import {
  Channel,
  connect,
  exportPublicKeyRaw,
  generateIdentityKeyPair,
  MessageError,
  memoryTransportPair,
  type PublicJwk,
  publicKeyToJwk,
  signerFromKeyPair,
  thumbprint,
} from '../../../../protocol/index.js';
import { type NsMobileMessages, nsMobileMessages } from '../../../../protocol/mobile/ns.js';
import { parseEnrolUri } from '../../../../protocol/mobile/uris.js';

export const publicUrl = 'https://id.example.test';
export const secretKey = 'ns-test-secret-key-0123456789';
export const sfsIssuer = 'https://id.example.test/sfs';
export const phoneIp = '198.51.100.7';
export const browser = { server: 'acme', userAgent: 'Mozilla/5.0 (X11) Firefox/140', ip: '192.0.2.10' };

/** The SFS role in tests: signs attestations exactly as auth-server/sfs does, with its own key. */
export interface FakeSfs {
  peer: SfsPeer;
  /** What NS registered through `peer.registerServer`. */
  registered: { id: string; policy?: unknown }[];
  attest(input: {
    aud: string;
    challenge: string;
    sub: string;
    /** Epoch ms; default the fixture clock. */
    now?: number;
    lifetimeSeconds?: number;
    /** Default `pin`. */
    method?: 'pin' | 'bio';
  }): Promise<string>;
}

export async function fakeSfs(clock: FixedClock): Promise<FakeSfs> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const publicJwk = (await exportJWK(publicKey)) as JWK & { kty: 'EC'; crv: 'P-256'; x: string; y: string };
  const kid = await calculateJwkThumbprint(publicJwk, 'sha256');
  const key = { kid, publicJwk, privateKey: privateKey as CryptoKey, createdAt: new Date(clock.now()) };
  const registered: { id: string; policy?: unknown }[] = [];
  return {
    peer: {
      issuer: sfsIssuer,
      publicKeys: async () => [{ ...publicJwk, kid, alg: 'ES256', use: 'sig' }],
      registerServer: async (input) => {
        registered.push(input);
      },
    },
    registered,
    async attest(input) {
      const { jws } = await signAttestation(key, systemRandom, {
        issuer: sfsIssuer,
        instanceId: input.sub,
        serverId: input.aud,
        challenge: input.challenge,
        method: input.method ?? 'pin',
        now: input.now ?? clock.now(),
        ...(input.lifetimeSeconds !== undefined ? { lifetimeSeconds: input.lifetimeSeconds } : {}),
      });
      return jws;
    },
  };
}

export interface LogCapture {
  logger: Logger;
  lines(): Record<string, unknown>[];
}

export function captureLogs(): LogCapture {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => {
    text += d.toString();
  });
  return {
    logger: createLogger({ level: 'debug', format: 'json', destination: stream }),
    lines: () =>
      text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

export interface Phone {
  keyPair: CryptoKeyPair;
  jwk: PublicJwk;
  thumbprint: string;
  /** SFS app instance id (attestation `sub`). */
  instanceId: string;
}

export async function newPhone(
  instanceId = `inst-${Math.random().toString(36).slice(2, 12)}`,
): Promise<Phone> {
  const keyPair = await generateIdentityKeyPair();
  const raw = await exportPublicKeyRaw(keyPair.publicKey);
  return { keyPair, jwk: publicKeyToJwk(raw), thumbprint: await thumbprint(raw), instanceId };
}

export type NsChannel = Channel<NsMobileMessages>;

export interface MobileFixture {
  clock: FixedClock;
  kv: MemoryKv;
  logs: LogCapture;
  sfs: FakeSfs;
  identities: ServerIdentityService;
  accounts: AccountService;
  accountAdmin: AccountAdminService;
  sessions: SessionService;
  audit: AuditService;
  logins: MobileLoginService;
  endpoint: MobileEndpoint;
  /** Opens a channel to `server` the way the app does; rejects with the handshake's ChannelError. */
  open(options: {
    server?: string;
    fingerprint?: string;
    phone?: Phone | null;
    maxFrameBytes?: number;
  }): Promise<NsChannel>;
  /** The channel's attestation for `purpose`, bound as the SDK binds it (overrides for negative tests). */
  attestFor(
    channel: NsChannel,
    phone: Phone,
    purpose: AttestationPurpose,
    overrides?: {
      aud?: string;
      sub?: string;
      now?: number;
      lifetimeSeconds?: number;
      thumbprint?: string;
      method?: 'pin' | 'bio';
    },
  ): Promise<string>;
  /** Enrol link → enrolment channel → account; returns the phone and its account id. */
  enrol(userid: string, phone?: Phone): Promise<{ phone: Phone; accountId: string }>;
  /** A browser session on `acme` and its current login code. */
  /** `info`: the integrator's sessioninfo for this login. */
  browserLogin(info?: string): Promise<{ nonce: string; code: string; sessionId: string }>;
  globalId(server?: string): string;
  close(): Promise<void>;
}

/** Empties the NS tables and builds the services over `knex` with servers `acme` and `other`. */
export async function mobileFixture(
  knex: Knex,
  options: { limits?: MobileLimits; withSfs?: boolean; geoip?: GeoIp } = {},
): Promise<MobileFixture> {
  for (const table of ['ns_enrol_tokens', 'ns_accounts', 'ns_login_codes', 'ns_sessions', 'ns_api_keys'])
    await knex(table).del();
  await knex('ns_virtual_servers').del();
  const clock = new FixedClock(Date.UTC(2026, 2, 1, 12, 0, 0));
  const kv = new MemoryKv({ clock });
  const logs = captureLogs();
  const logger = logs.logger;
  const sfs = await fakeSfs(clock);
  const servers = createVirtualServerRepository(knex, clock);
  await servers.create({ name: 'acme', displayName: 'ACME', policy: { loginTimeoutSeconds: 120 } });
  await servers.create({ name: 'other', displayName: 'Other' });
  const identities = createServerIdentityService({ db: knex, clock, secretKey, publicUrl });
  const checkAttestation = createAttestationChecker({
    sfs: options.withSfs === false ? undefined : sfs.peer,
    kv,
    clock,
  });
  const audit = createAuditService({ db: knex, clock, random: systemRandom });
  const accounts = createAccountService({
    db: knex,
    clock,
    random: systemRandom,
    logger,
    identities,
    checkAttestation,
    audit,
    publicUrl,
  });
  const sessions = createSessionService({
    db: knex,
    kv,
    clock,
    random: systemRandom,
    logger,
    servers,
    publicUrl,
  });
  const logins = createMobileLoginService({ sessions, accounts, checkAttestation, audit, logger });
  const accountAdmin = createAccountAdminService({ db: knex, clock, audit });
  // No MC here: push logins are tested end to end (test/e2e/push-login-cli.test.ts).
  const push = createPushService({
    db: knex,
    kv,
    clock,
    random: systemRandom,
    logger,
    mc: undefined,
    accounts: createAccountRepository(knex),
    servers,
    identities,
    sessions: () => sessions,
    audit,
    geoip: options.geoip ?? noGeoIp,
    publicUrl,
  });
  const endpoint = createNsMobileEndpoint({
    identities,
    accounts,
    accountAdmin,
    logins,
    push,
    kv,
    clock,
    random: systemRandom,
    logger,
    geoip: options.geoip,
    ...(options.limits ? { limits: options.limits } : {}),
  });
  const channels: NsChannel[] = [];
  const globalId = (server = 'acme') => `${publicUrl}/ns/${server}`;

  const fixture: MobileFixture = {
    clock,
    kv,
    logs,
    sfs,
    identities,
    accounts,
    accountAdmin,
    sessions,
    audit,
    logins,
    endpoint,
    globalId,

    async open({ server = 'acme', fingerprint, phone = null, maxFrameBytes }) {
      const fp = fingerprint ?? (await identities.serverIdentity('acme'))?.thumbprint;
      if (!fp) throw new Error('no server key');
      const [client, serverSide] = memoryTransportPair();
      endpoint.accept(serverSide, { ip: phoneIp, userAgent: 'nextauth-test' });
      const session = await connect(client, {
        target: { kind: 'ns', id: server },
        server: { fingerprints: [fp] },
        identity: phone ? await signerFromKeyPair(phone.keyPair) : null,
        ...(maxFrameBytes !== undefined ? { maxFrameBytes } : {}),
      });
      const channel = new Channel(session, nsMobileMessages);
      channels.push(channel);
      return channel;
    },

    async attestFor(channel, phone, purpose, overrides = {}) {
      const aud = overrides.aud ?? globalId();
      const challenge = await attestationChallenge({
        serverId: aud,
        accountKeyThumbprint: overrides.thumbprint ?? phone.thumbprint,
        transcriptHash: channel.session.info.transcriptHash,
        purpose,
      });
      return sfs.attest({
        aud,
        challenge,
        sub: overrides.sub ?? phone.instanceId,
        ...(overrides.now !== undefined ? { now: overrides.now } : {}),
        ...(overrides.lifetimeSeconds !== undefined ? { lifetimeSeconds: overrides.lifetimeSeconds } : {}),
        ...(overrides.method !== undefined ? { method: overrides.method } : {}),
      });
    },

    async enrol(userid, phone) {
      const p = phone ?? (await newPhone());
      const link = await accounts.createEnrolLink({ server: 'acme', userid });
      const data = parseEnrolUri(link.uri);
      const channel = await fixture.open({ fingerprint: data.fp });
      try {
        await channel.request('enrol.begin', { token: data.t });
        const attestation = await fixture.attestFor(channel, p, 'enrol');
        const done = await channel.request('enrol.complete', {
          token: data.t,
          accountKey: p.jwk,
          attestation,
        });
        return { phone: p, accountId: done.accountId };
      } finally {
        await channel.close();
      }
    },

    async browserLogin(info) {
      const { nonce, session } = await sessions.createSession({ ...browser, ...(info ? { info } : {}) });
      const { code } = await sessions.currentLoginCode(nonce);
      return { nonce, code, sessionId: session.id };
    },

    async close() {
      await Promise.all(channels.map((c) => c.close().catch(() => {})));
      await kv.close();
    },
  };
  return fixture;
}

/** All NS rows an enrolment or login may touch: for "a rejection changed nothing". */
export async function nsState(knex: Knex): Promise<unknown> {
  return {
    accounts: await knex('ns_accounts').select('*').orderBy('id'),
    tokens: await knex('ns_enrol_tokens').select('*').orderBy('token_hash'),
    sessions: await knex('ns_sessions').select('*').orderBy('id'),
    codes: await knex('ns_login_codes').select('*').orderBy('code_hash'),
  };
}

/** `err` is the message error `code` the endpoint answered with. */
export function expectMessageError(err: unknown, code: string): void {
  expect(err, String(err)).to.be.instanceOf(MessageError);
  expect((err as MessageError).code).to.equal(code);
}

export async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err as Error & { code?: string },
  );
}
