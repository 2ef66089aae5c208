// MC `/mc/mobile` endpoints over one SQLite database and one shared memory KV (two "MC instances"), with real
// secure-channel clients and device-side encryption keys.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { FixedClock, systemRandom } from '../../../auth-server/common/clock.js';
import { openDb } from '../../../auth-server/common/db/connect.js';
import { migrateLatest } from '../../../auth-server/common/db/migrate.js';
import { MemoryKv, MemoryStore } from '../../../auth-server/common/kv/index.js';
import { createLogger } from '../../../auth-server/common/logging.js';
import type { McPeer } from '../../../auth-server/common/peers.js';
import type { MailboxLimits } from '../../../auth-server/mc/mailbox/service.js';
import { createMcMobileEndpoint } from '../../../auth-server/mc/mobile/endpoint.js';
import { createMcPeer } from '../../../auth-server/mc/peer.js';
import { createMcApi, type McApi } from '../../../auth-server/mc/service.js';
import {
  type Bytes,
  Channel,
  type ClientOptions,
  connect,
  generateIdentityKeyPair,
  memoryTransportPair,
  type PublicJwk,
  publicKeyToJwk,
  type SecureSession,
  type Signer,
  signerFromKeyPair,
} from '../../../protocol/index.js';
import { mcMobileMessages } from '../../../protocol/mobile/mc.js';
import { newMcMessageId, openMcMessage, sealMcMessage } from '../../../protocol/mobile/mc-seal.js';

export const logger = createLogger({ level: 'silent', format: 'json' });
export const secretKey = 'test-secret-key-0123456789abcdef';
export const tables = ['mc_messages', 'mc_app_instances', 'mc_identity_keys'];

/** One MC "instance": its own API object and KV client over the shared database and store. */
export interface McNode {
  api: McApi;
  kv: MemoryKv;
  peer: McPeer;
  endpoint: ReturnType<typeof createMcMobileEndpoint>;
}

export interface Harness {
  knex: Knex;
  clock: FixedClock;
  store: MemoryStore;
  a: McNode;
  b: McNode;
  /** The MC's raw channel public key, as the signed SDK configuration carries it. */
  mcKey: Bytes;
  close(): Promise<void>;
}

export async function startHarness(limits: Partial<MailboxLimits> = {}, brakeLimit = 120): Promise<Harness> {
  const dataDir = await mkdtemp(join(tmpdir(), 'nextauth-mc-'));
  const knex = openDb({ dataDir, service: 'mc' });
  await migrateLatest(knex, 'mc');
  const clock = new FixedClock(Date.UTC(2026, 2, 1, 12));
  const store = new MemoryStore({ clock });
  const node = (): McNode => {
    const kv = new MemoryKv({ store, prefix: 'mc-test:' });
    const api = createMcApi({
      db: knex,
      kv,
      clock,
      random: systemRandom,
      publicUrl: 'https://idp.example',
      secretKey,
      limits,
    });
    return {
      api,
      kv,
      peer: createMcPeer(api),
      endpoint: createMcMobileEndpoint({ api, kv, clock, logger, brake: { limit: brakeLimit } }),
    };
  };
  const a = node();
  const b = node();
  const mcKey = (await a.api.identity()).signer.publicKey;
  return {
    knex,
    clock,
    store,
    a,
    b,
    mcKey,
    async close() {
      await a.kv.close();
      await b.kv.close();
      await store.close();
      await knex.destroy();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A device: its channel (signing) key and its separate ECDH encryption key. */
export interface Device {
  signer: Signer;
  encryption: CryptoKeyPair;
  encryptionJwk: PublicJwk;
}

export async function newDevice(): Promise<Device> {
  const signer = await signerFromKeyPair(await generateIdentityKeyPair());
  const encryption = (await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, false, [
    'deriveBits',
  ])) as CryptoKeyPair;
  const raw = new Uint8Array(await crypto.subtle.exportKey('raw', encryption.publicKey));
  return { signer, encryption, encryptionJwk: publicKeyToJwk(raw) };
}

export type McChannel = Channel<typeof mcMobileMessages>;

/** Opens a channel from `device` to `node` over a memory transport pair, pinning the MC key. */
export async function openChannel(
  h: Harness,
  device: Device,
  node: McNode = h.a,
  overrides: Partial<ClientOptions> = {},
): Promise<{ channel: McChannel; session: SecureSession }> {
  const [client, server] = memoryTransportPair();
  node.endpoint.accept(server, { ip: '192.0.2.7', userAgent: 'test' });
  const session = await connect(client, {
    target: { kind: 'mc', id: await node.api.channelId },
    server: { keys: [h.mcKey] },
    identity: device.signer,
    ...overrides,
  });
  return { channel: new Channel(session, mcMobileMessages), session };
}

/** NS's side: seal `plaintext` for the instance and post it through the peer. */
export async function postTo(
  peer: McPeer,
  instanceId: string,
  plaintext: string,
  options: { expiresAt: number; collapseId?: string; id?: string },
): Promise<{ id: string; sealed: string }> {
  const recipient = await peer.recipient({ instanceId });
  if (!recipient) throw new Error('no such recipient');
  const id = options.id ?? newMcMessageId();
  const sealed = await sealMcMessage({
    recipientKey: recipient.encryptionKey,
    instanceId,
    id,
    expiresAt: options.expiresAt,
    plaintext,
  });
  await peer.post({ instanceId, sealed, ...(options.collapseId ? { collapseId: options.collapseId } : {}) });
  return { id, sealed };
}

/** The device's side: open a delivered message with its private encryption key. */
export async function openOn(
  device: Device,
  instanceId: string,
  sealed: string,
  now: number,
): Promise<string> {
  const { plaintext } = await openMcMessage(sealed, {
    agree: async (epk) => {
      const peer = await crypto.subtle.importKey(
        'raw',
        epk,
        { name: 'ECDH', namedCurve: 'P-256' },
        false,
        [],
      );
      return new Uint8Array(
        await crypto.subtle.deriveBits({ name: 'ECDH', public: peer }, device.encryption.privateKey, 256),
      );
    },
    recipientKey: device.encryptionJwk,
    instanceId,
    now,
  });
  return new TextDecoder().decode(plaintext);
}

/** Every row of every MC table: compared before and after a rejection to prove nothing changed. */
export async function snapshot(knex: Knex): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const table of tables)
    out[table] = (await knex(table).select('*')).map((row: unknown) => JSON.stringify(row)).sort();
  return out;
}

export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );
}
