// A real listener with the NS router on SQLite in a temp dir, a MemoryKv and a FixedClock, plus SSE reading.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Router from '@koa/router';
import type { Knex } from 'knex';
import { FixedClock, systemRandom } from '../../../../auth-server/common/clock.js';
import { openDb } from '../../../../auth-server/common/db/connect.js';
import { migrateLatest } from '../../../../auth-server/common/db/migrate.js';
import { noGeoIp } from '../../../../auth-server/common/geoip/index.js';
import { createHttpApp } from '../../../../auth-server/common/http/app.js';
import { createOutboundClient, type Resolver } from '../../../../auth-server/common/http/outbound.js';
import type { Kv } from '../../../../auth-server/common/kv/kv.js';
import { MemoryKv } from '../../../../auth-server/common/kv/memory.js';
import { createLogger } from '../../../../auth-server/common/logging.js';
import type { McPeer, SfsPeer } from '../../../../auth-server/common/peers.js';
import { createAccountAdminService } from '../../../../auth-server/ns/accounts/admin.js';
import { createAccountRepository } from '../../../../auth-server/ns/accounts/repository.js';
import { createAccountService } from '../../../../auth-server/ns/accounts/service.js';
import { createNsRouter, type NsApiDeps } from '../../../../auth-server/ns/api/router.js';
import { createApiKeyAdminService } from '../../../../auth-server/ns/apikeys/admin.js';
import { createApiKeyRepository } from '../../../../auth-server/ns/apikeys/repository.js';
import { createApiKeyVerifier } from '../../../../auth-server/ns/apikeys/verify.js';
import { createAttestationChecker } from '../../../../auth-server/ns/attestation/check.js';
import { type AuditService, createAuditService } from '../../../../auth-server/ns/audit/service.js';
import {
  type BusinessEvents,
  createBusinessEvents,
  withBusinessEvents,
} from '../../../../auth-server/ns/events/service.js';
import { createMcDelivery } from '../../../../auth-server/ns/push/deliver.js';
import { createPushRepository } from '../../../../auth-server/ns/push/repository.js';
import { createPushService } from '../../../../auth-server/ns/push/service.js';
import { createRecoveryService } from '../../../../auth-server/ns/recovery/service.js';
import { createServerAdminService } from '../../../../auth-server/ns/servers/admin.js';
import {
  createServerIdentityService,
  createServerIdentityService as identityService,
} from '../../../../auth-server/ns/servers/identity.js';
import { createVirtualServerRepository } from '../../../../auth-server/ns/servers/repository.js';
import { createSessionService, type SessionService } from '../../../../auth-server/ns/sessions/service.js';
import { createTransactionService } from '../../../../auth-server/ns/transactions/service.js';
import { createUserService } from '../../../../auth-server/ns/users/service.js';
import {
  createWebhookDispatcher,
  type WebhookDispatcher,
  type WebhookDispatcherOptions,
} from '../../../../auth-server/ns/webhooks/dispatcher.js';
import { createWebhookService } from '../../../../auth-server/ns/webhooks/service.js';
import { serve } from '../../../helpers/http.js';

export const rootKey = 'root-key-for-tests-0123456789';
export const harnessSecretKey = 'test-secret-key-0123456789';
export const logger = createLogger({ level: 'silent', format: 'json' });

export interface Harness {
  url: string;
  knex: Knex;
  clock: FixedClock;
  kv: MemoryKv;
  sessions: SessionService;
  audit: AuditService;
  /** Business events (fed by `audit`), with the webhook queue as a sink. */
  events: BusinessEvents;
  /** A webhook dispatcher on this database (tests make several to race them); none runs by itself. */
  dispatcher(options?: Partial<WebhookDispatcherOptions>): WebhookDispatcher;
  servers: ReturnType<typeof createVirtualServerRepository>;
  /** What the server routes registered at the (fake) SFS, in order. */
  sfsRegistrations: Parameters<SfsPeer['registerServer']>[0][];
  /** What push login posted to the (fake) MC, in order: every account with a push key has an instance. */
  mcPosts: Parameters<McPeer['post']>[0][];
  /** Bus subscriptions the router currently holds (SSE streams must release theirs). */
  activeSubscriptions(): number;
  close(): Promise<void>;
}

export interface HarnessOptions {
  publicUrl?: string;
  limits?: NsApiDeps['limits'];
  sse?: NsApiDeps['sse'];
  /** Give the router a bus of its own, so the service's publishes never reach the SSE (poll test). */
  separateBus?: boolean;
  /** Replaces the recording fake SFS of the server routes (e.g. one that fails). */
  sfs?: SfsPeer;
  /** Embedded mode protects `default` from deletion. */
  protectedServers?: string[];
  /** NEXTAUTH_OUTBOUND_ALLOW of the webhook client (default: none). */
  outboundAllow?: string[];
  /** DNS of the webhook client (default: the system resolver). */
  resolve?: Resolver;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dataDir = await mkdtemp(join(tmpdir(), 'nextauth-ns-api-'));
  const knex = openDb({ dataDir, service: 'ns' });
  await migrateLatest(knex, 'ns');
  const clock = new FixedClock(Date.UTC(2026, 2, 1, 12, 0, 0));
  const kv = new MemoryKv({ clock });
  const routerKv = options.separateBus ? new MemoryKv({ clock }) : kv;
  let subscriptions = 0;
  const countingKv: Kv = Object.assign(Object.create(routerKv) as Kv, {
    async subscribe(channel: string, handler: (message: string) => void) {
      const unsubscribe = await routerKv.subscribe(channel, handler);
      subscriptions++;
      return async () => {
        subscriptions--;
        await unsubscribe();
      };
    },
  });
  const publicUrl = options.publicUrl ?? 'http://127.0.0.1:3000';
  const servers = createVirtualServerRepository(knex, clock);
  await servers.create({ name: 'acme', displayName: 'ACME', policy: { loginTimeoutSeconds: 120 } });
  await servers.create({ name: 'other', displayName: 'Other' });
  const sessions = createSessionService({
    db: knex,
    kv,
    clock,
    random: systemRandom,
    logger,
    servers,
    publicUrl,
  });
  const events = createBusinessEvents({ kv, clock, random: systemRandom, logger });
  const audit = withBusinessEvents(createAuditService({ db: knex, clock, random: systemRandom }), events);
  const outbound = createOutboundClient({
    allow: options.outboundAllow ?? [],
    ...(options.resolve && { resolve: options.resolve }),
  });
  const webhooks = createWebhookService({
    db: knex,
    clock,
    random: systemRandom,
    secretKey: harnessSecretKey,
    outbound,
    audit,
    publicUrl,
  });
  events.addSink(webhooks.sink);
  // Enrol links need server keys; no SFS here, so every attestation would be refused (none is sent).
  const accounts = createAccountService({
    db: knex,
    clock,
    random: systemRandom,
    logger,
    identities: createServerIdentityService({
      db: knex,
      clock,
      secretKey: harnessSecretKey,
      publicUrl,
    }),
    checkAttestation: createAttestationChecker({ sfs: undefined, kv, clock }),
    audit,
    publicUrl,
    kv: countingKv,
  });
  const sfsRegistrations: Harness['sfsRegistrations'] = [];
  const sfs: SfsPeer = options.sfs ?? {
    issuer: 'http://127.0.0.1:3000/sfs',
    publicKeys: async () => [],
    registerServer: async (input) => {
      sfsRegistrations.push(input);
    },
  };
  const mcPosts: Harness['mcPosts'] = [];
  const mailboxKey = (await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, [
    'deriveBits',
  ])) as CryptoKeyPair;
  const encryptionKey = (await crypto.subtle.exportKey('jwk', mailboxKey.publicKey)) as {
    kty: 'EC';
    crv: 'P-256';
    x: string;
    y: string;
  };
  const mc: McPeer = {
    recipient: async (ref) =>
      'instanceKeyThumbprint' in ref
        ? { instanceId: `mc-${ref.instanceKeyThumbprint.slice(0, 8)}`, encryptionKey }
        : undefined,
    post: async (input) => {
      mcPosts.push(input);
      return { id: input.sealed.slice(0, 22), expiresAt: 0 };
    },
  };
  const push = createPushService({
    db: knex,
    kv,
    clock,
    random: systemRandom,
    logger,
    mc,
    accounts: createAccountRepository(knex),
    servers,
    identities: identityService({ db: knex, clock, secretKey: harnessSecretKey, publicUrl }),
    sessions: () => sessions,
    audit,
    geoip: noGeoIp,
    publicUrl,
  });
  const transactions = createTransactionService({
    db: knex,
    kv,
    clock,
    random: systemRandom,
    logger,
    accounts: createAccountRepository(knex),
    servers,
    identities: identityService({ db: knex, clock, secretKey: harnessSecretKey, publicUrl }),
    checkAttestation: createAttestationChecker({ sfs: undefined, kv, clock }),
    sfs: undefined,
    deliver: createMcDelivery({ mc, logger, pushKey: (id) => createPushRepository(knex).pushKey(id) }),
    audit,
    publicUrl,
  });
  const router = createNsRouter({
    push,
    transactions,
    sessions,
    accounts,
    servers,
    apiKeys: createApiKeyVerifier({ rootApiKey: rootKey, repository: createApiKeyRepository(knex) }),
    serverAdmin: createServerAdminService({
      repository: servers,
      sfs,
      audit,
      logger,
      publicUrl,
      protectedNames: options.protectedServers ?? [],
    }),
    apiKeyAdmin: createApiKeyAdminService({ db: knex, clock, random: systemRandom, audit }),
    users: createUserService({ db: knex, clock, random: systemRandom, audit }),
    accountAdmin: createAccountAdminService({ db: knex, clock, audit }),
    audit,
    webhooks,
    recovery: createRecoveryService({
      db: knex,
      kv,
      clock,
      random: systemRandom,
      secretKey: harnessSecretKey,
      audit,
      accounts,
    }),
    kv: countingKv,
    clock,
    logger,
    publicUrl,
    ...(options.limits && { limits: options.limits }),
    sse: options.sse ?? { pollIntervalMs: 60_000, heartbeatMs: 60_000 },
  });
  const app = createHttpApp({ logger });
  const root = new Router();
  root.use('/ns', router.routes(), router.allowedMethods());
  app.use(root.routes()).use(root.allowedMethods());
  const listener = await serve(app);
  return {
    url: listener.url,
    knex,
    clock,
    kv,
    sessions,
    audit,
    events,
    dispatcher: (overrides = {}) =>
      createWebhookDispatcher({
        db: knex,
        clock,
        random: systemRandom,
        logger,
        secretKey: harnessSecretKey,
        outbound,
        ...overrides,
      }),
    servers,
    sfsRegistrations,
    mcPosts,
    activeSubscriptions: () => subscriptions,
    async close() {
      await listener.close(100);
      await knex.destroy();
      await kv.close();
      if (routerKv !== kv) await routerKv.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** All rows of the session tables: for "a rejection changed nothing". */
export async function storedState(knex: Knex): Promise<unknown> {
  return {
    sessions: await knex('ns_sessions').select('*').orderBy('id'),
    codes: await knex('ns_login_codes').select('*').orderBy('code_hash'),
  };
}

export interface SseEvent {
  event: string;
  data: string;
}

/** Reads server-sent events from a response body; `next()` resolves undefined once the stream ends. */
export function sseReader(res: Response, abort: AbortController) {
  if (!res.body) throw new Error('no body');
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  return {
    async next(timeoutMs = 3000): Promise<SseEvent | undefined> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        let split = buffer.indexOf('\n\n');
        while (split >= 0) {
          const block = buffer.slice(0, split);
          buffer = buffer.slice(split + 2);
          const lines = block.split('\n');
          const event = lines.find((l) => l.startsWith('event: '))?.slice(7);
          const data = lines.find((l) => l.startsWith('data: '))?.slice(6);
          if (event !== undefined && data !== undefined) return { event, data };
          split = buffer.indexOf('\n\n');
        }
        const left = deadline - Date.now();
        if (left <= 0) throw new Error('no SSE event in time');
        let timer: NodeJS.Timeout | undefined;
        const chunk = await Promise.race([
          reader.read(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error('no SSE event in time')), left);
          }),
        ]).finally(() => clearTimeout(timer));
        if (chunk.done) return undefined;
        buffer += decoder.decode(chunk.value, { stream: true });
      }
    },
    close: () => abort.abort(),
  };
}
