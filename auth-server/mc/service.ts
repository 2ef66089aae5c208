// MC as a service instance: app instances with their push registration, the sealed mailbox, `/mc/mobile`.
import type { Knex } from 'knex';
import { mcTargetId } from '../../protocol/mobile/mc.js';
import type { Clock, Random } from '../common/clock.js';
import { ConfigError, settings } from '../common/config/index.js';
import type { Kv } from '../common/kv/kv.js';
import type { ServiceDeps, ServiceInstance } from '../common/service.js';
import { createMcInstanceRepository, type McInstanceRepository } from './instances/repository.js';
import { loadOrCreateMcIdentity, type McIdentity } from './keys/identity-key.js';
import { createMailboxRepository } from './mailbox/repository.js';
import { createMailboxService, type MailboxLimits, type MailboxService } from './mailbox/service.js';
import { createMcSweeper } from './mailbox/sweeper.js';
import { createMcMobileEndpoint } from './mobile/endpoint.js';
import { createMcPeer } from './peer.js';
import { createPushDispatcher, type PushDispatcher } from './push/dispatcher.js';
import { createMcPushMetrics } from './push/metrics.js';
import { createPushSenders } from './push/senders.js';

/** What `/mc/mobile` and the MC peer call; each part validates its own input and throws McError. */
export interface McApi {
  /** `{NEXTAUTH_PUBLIC_URL}/mc`: what the channel target id is derived from. */
  readonly baseUrl: string;
  /** Secure-channel target id (`{kind: 'mc', id}`). */
  readonly channelId: Promise<string>;
  readonly instances: McInstanceRepository;
  readonly mailbox: MailboxService;
  /** Pushes for stored messages (FCM / APNs); absent when the MC runs without one (unit tests). */
  readonly push?: PushDispatcher;
  /** The channel identity (imported once, then cached); its public key goes into the SDK configuration. */
  identity(): Promise<McIdentity>;
}

export interface McApiOptions {
  db: Knex;
  kv: Kv;
  clock: Clock;
  random: Random;
  publicUrl: string;
  secretKey: string;
  limits?: Partial<MailboxLimits>;
  /** Builds the push dispatcher over this API's instance repository (it clears refused tokens there). */
  push?: (instances: McInstanceRepository) => PushDispatcher;
}

export function createMcApi(options: McApiOptions): McApi {
  const { db, kv, clock, random, secretKey } = options;
  const baseUrl = `${options.publicUrl.replace(/\/+$/, '')}/mc`;
  const instances = createMcInstanceRepository(db, clock, random, secretKey);
  let identity: Promise<McIdentity> | undefined;
  const push = options.push?.(instances);
  return {
    baseUrl,
    channelId: mcTargetId(baseUrl),
    instances,
    mailbox: createMailboxService({
      repository: createMailboxRepository(db),
      instances,
      kv,
      clock,
      ...(options.limits ? { limits: options.limits } : {}),
      ...(push ? { onStored: (message) => push.notify(message) } : {}),
    }),
    ...(push ? { push } : {}),
    identity() {
      // Memoised, but a failed load (database down at start) is retried on the next call.
      identity ??= loadOrCreateMcIdentity(db, secretKey, clock).catch((err: unknown) => {
        identity = undefined;
        throw err;
      });
      return identity;
    },
  };
}

export interface McServiceInstance extends ServiceInstance {
  readonly api: McApi;
}

export function createMcService(deps: ServiceDeps): McServiceInstance {
  const { secretKey } = deps.config;
  if (secretKey === undefined)
    throw new ConfigError(settings.secretKey.env, 'required by the MC (it seals its key and push tokens)');
  const api = createMcApi({
    db: deps.db,
    kv: deps.kv,
    clock: deps.clock,
    random: deps.random,
    publicUrl: deps.config.publicUrl,
    secretKey,
    push: (instances) =>
      createPushDispatcher({
        instances,
        senders: createPushSenders(deps.config.mcPush, deps.clock),
        clock: deps.clock,
        logger: deps.logger,
        metrics: createMcPushMetrics(deps.metrics.registry),
      }),
  });
  const sweeper = createMcSweeper({
    mailbox: api.mailbox,
    kv: deps.kv,
    clock: deps.clock,
    logger: deps.logger,
  });
  return {
    name: 'mc',
    api,
    mobile: createMcMobileEndpoint({ api, kv: deps.kv, clock: deps.clock, logger: deps.logger }),
    provides: { mc: createMcPeer(api) },
    async start() {
      // Creating the key at start surfaces a wrong NEXTAUTH_SECRET_KEY at once.
      await api.identity();
      sweeper.start();
    },
    async close() {
      sweeper.stop();
      await api.push?.close();
    },
  };
}
