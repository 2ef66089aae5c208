// An SFS `/sfs/mobile` endpoint over SQLite with a real secure-channel client (memory transport or loopback WebSocket).
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { FixedClock } from '../../../../auth-server/common/clock.js';
import { openDb } from '../../../../auth-server/common/db/connect.js';
import {
  attachMobileSockets,
  type MobileSockets,
} from '../../../../auth-server/common/http/mobile-sockets.js';
import { MemoryKv } from '../../../../auth-server/common/kv/index.js';
import { createLogger } from '../../../../auth-server/common/logging.js';
import type { BrakeOptions } from '../../../../auth-server/sfs/mobile/brake.js';
import { createSfsMobileEndpoint } from '../../../../auth-server/sfs/mobile/endpoint.js';
import type { SfsApi } from '../../../../auth-server/sfs/service.js';
import {
  type Bytes,
  Channel,
  type ClientOptions,
  connect,
  generateIdentityKeyPair,
  memoryTransportPair,
  type SecureSession,
  signerFromKeyPair,
  type Transport,
} from '../../../../protocol/index.js';
import { sfsMobileMessages } from '../../../../protocol/mobile/sfs.js';
import { openLoopbackClient } from '../../../protocol/ws-server.js';
import { resetSfs, sfsApi } from '../fixtures.js';

export const logger = createLogger({ level: 'silent', format: 'json' });

export interface Harness {
  knex: Knex;
  clock: FixedClock;
  api: SfsApi;
  kv: MemoryKv;
  /** The SFS's raw channel (= attestation) public key, as the signed SDK configuration carries it. */
  sfsKey: Bytes;
  /** A new endpoint over the same database (e.g. with another brake). */
  endpoint(brake?: BrakeOptions): ReturnType<typeof createSfsMobileEndpoint>;
  close(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const dataDir = await mkdtemp(join(tmpdir(), 'nextauth-sfs-mobile-'));
  const knex = openDb({ dataDir, service: 'sfs' });
  await resetSfs(knex);
  const clock = new FixedClock(Date.UTC(2026, 2, 1, 12));
  const api = sfsApi(knex, clock);
  const kv = new MemoryKv({ clock });
  const sfsKey = (await api.sfsIdentity()).signer.publicKey;
  return {
    knex,
    clock,
    api,
    kv,
    sfsKey,
    endpoint: (brake) => createSfsMobileEndpoint({ api, kv, clock, logger, ...(brake ? { brake } : {}) }),
    async close() {
      await kv.close();
      await knex.destroy();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** An app instance: its key pair lives on the "device"; only the Signer reaches the channel. */
export async function appInstance() {
  const pair = await generateIdentityKeyPair();
  return signerFromKeyPair(pair);
}

export type SfsChannel = Channel<typeof sfsMobileMessages>;

/** Opens a channel to `endpoint` over a memory transport pair, pinning the SFS key. */
export async function openChannel(
  h: Harness,
  overrides: Partial<ClientOptions> = {},
  endpoint = h.endpoint(),
): Promise<{ channel: SfsChannel; session: SecureSession }> {
  const [client, server] = memoryTransportPair();
  endpoint.accept(server, { ip: '192.0.2.7', userAgent: 'test' });
  return clientOver(h, client, overrides);
}

export async function clientOver(
  h: Harness,
  transport: Transport,
  overrides: Partial<ClientOptions> = {},
): Promise<{ channel: SfsChannel; session: SecureSession }> {
  const session = await connect(transport, {
    target: { kind: 'sfs', id: await h.api.channelId },
    server: { keys: [h.sfsKey] },
    identity: await appInstance(),
    ...overrides,
  });
  return { channel: new Channel(session, sfsMobileMessages), session };
}

/** The endpoint behind a real HTTP server on loopback, as the runtime attaches it. */
export async function loopbackServer(h: Harness): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((_, res) => res.end());
  const sockets: MobileSockets = attachMobileSockets(server, [h.endpoint()], {
    logger,
    trustProxy: false,
    accepting: () => true,
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/sfs/mobile`,
    async close() {
      await sockets.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

export { openLoopbackClient };
