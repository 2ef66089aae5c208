// Webhook subscriptions of a virtual server (create with a secret shown once and sealed at rest, list,
// delete, deliveries for debugging) and the sink that turns committed business events into queued deliveries.
import type { Knex } from 'knex';
import { nsServerId } from '../../../protocol/mobile/common.js';
import type { Clock, Random } from '../../common/clock.js';
import { seal } from '../../common/crypto/secret-box.js';
import { type OutboundClient, OutboundError } from '../../common/http/outbound.js';
import type { AuditRecorder } from '../audit/service.js';
import { isWebhookEventType } from '../events/model.js';
import type { BusinessEventSink } from '../events/service.js';
import type { AdminActor } from '../servers/admin.js';
import type { VirtualServer } from '../servers/model.js';
import {
  type DeliveryState,
  type NewWebhook,
  newWebhookSchema,
  toCloudEvent,
  type Webhook,
  type WebhookDelivery,
} from './model.js';
import { createWebhookRepository, type NewDelivery } from './repository.js';
import { newHexId, newWebhookSecret } from './signature.js';

/** Webhooks per virtual server: bounds the work every login adds to its transaction. */
export const maxWebhooksPerServer = 20;

export type WebhookErrorCode = 'url_not_allowed' | 'too_many_webhooks';

export class WebhookError extends Error {
  override name = 'WebhookError';
  constructor(
    readonly code: WebhookErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The secret box context of a webhook's secret: a sealed value moved to another row does not open. */
export function webhookSecretContext(webhookId: string): string {
  return `ns-webhook:${webhookId}`;
}

export interface WebhookService {
  /**
   * Throws ZodError, WebhookError `url_not_allowed` (not https without an allow-listed host, or an address
   * that is not allowed) or `too_many_webhooks`; stores nothing then. The secret is returned only here.
   */
  create(
    server: VirtualServer,
    input: NewWebhook,
    by: AdminActor & { createdBy: string | null },
  ): Promise<{ webhook: Webhook; secret: string }>;
  list(server: VirtualServer): Promise<Webhook[]>;
  /** False when the server has no such webhook. */
  delete(server: VirtualServer, id: string, by: AdminActor): Promise<boolean>;
  /** Newest first; undefined when the server has no such webhook. */
  deliveries(
    server: VirtualServer,
    id: string,
    options: { limit: number; state?: DeliveryState },
  ): Promise<WebhookDelivery[] | undefined>;
  /** Feeds the delivery queue (register with BusinessEvents.addSink). */
  sink: BusinessEventSink;
}

export function createWebhookService(deps: {
  db: Knex;
  clock: Clock;
  random: Random;
  secretKey: string;
  outbound: OutboundClient;
  audit: AuditRecorder;
  publicUrl: string;
  /** Called after a commit that queued deliveries (the local dispatcher runs then instead of at its tick). */
  onQueued?: () => void;
}): WebhookService {
  const { db, clock, random, secretKey, audit } = deps;
  const repository = createWebhookRepository(db);
  const publicUrl = deps.publicUrl.replace(/\/+$/, '');

  const record = (
    trx: Knex.Transaction,
    type: 'webhook.created' | 'webhook.deleted',
    server: VirtualServer,
    webhook: Webhook,
    by: AdminActor,
  ) =>
    audit.record(
      {
        type,
        server: { id: server.id, name: server.name },
        ip: by.ip,
        userAgent: by.userAgent,
        actor: by.actor,
        ...(by.actingAs !== undefined ? { actingAs: by.actingAs } : {}),
        subject: { kind: 'webhook', id: webhook.id },
        // The URL may carry a path with meaning to its owner but no credential (they are refused).
        details: { url: webhook.url.slice(0, 1024), events: webhook.events },
      },
      trx,
    );

  return {
    async create(server, input, by) {
      const parsed = newWebhookSchema.parse(input);
      let url: URL;
      try {
        url = await deps.outbound.checkUrl(parsed.url, { requireHttps: true });
      } catch (err) {
        if (err instanceof OutboundError) throw new WebhookError('url_not_allowed', err.message);
        throw err;
      }
      const webhook: Webhook = {
        id: newHexId(random),
        serverId: server.id,
        url: url.href,
        events: parsed.events,
        description: parsed.description ?? null,
        createdAt: new Date(clock.now()),
        createdBy: by.createdBy,
      };
      const secret = newWebhookSecret(random);
      await db.transaction(async (trx) => {
        const hooks = createWebhookRepository(trx);
        // Soft cap, like API keys: concurrent creations may pass it by a few.
        if ((await hooks.count(server.id)) >= maxWebhooksPerServer)
          throw new WebhookError(
            'too_many_webhooks',
            `A virtual server may have at most ${maxWebhooksPerServer} webhooks; delete one first`,
          );
        await hooks.save(webhook, seal(secretKey, webhookSecretContext(webhook.id), secret));
        await record(trx, 'webhook.created', server, webhook, by);
      });
      return { webhook, secret };
    },

    list: (server) => repository.list(server.id),

    async delete(server, id, by) {
      return db.transaction(async (trx) => {
        const hooks = createWebhookRepository(trx);
        const webhook = await hooks.find(server.id, id);
        if (!webhook) return false;
        if (!(await hooks.delete(server.id, id))) return false;
        await record(trx, 'webhook.deleted', server, webhook, by);
        return true;
      });
    },

    async deliveries(server, id, options) {
      if (!(await repository.find(server.id, id))) return undefined;
      return repository.deliveries(id, options);
    },

    sink: {
      async enqueue(event, handle) {
        if (!isWebhookEventType(event.type)) return false;
        const hooks = createWebhookRepository(handle ?? db);
        const subscribed = (await hooks.subscriptions(event.server.id)).filter((w) =>
          w.events.includes(event.type),
        );
        if (subscribed.length === 0) return false;
        const payload = JSON.stringify(toCloudEvent(event, nsServerId(publicUrl, event.server.name)));
        const now = clock.now();
        const items: NewDelivery[] = subscribed.map((w) => ({
          id: newHexId(random),
          webhookId: w.id,
          eventId: event.id,
          eventType: event.type,
          payload,
          now,
        }));
        await hooks.enqueue(items);
        return true;
      },
      committed() {
        // A hint only: the dispatcher's tick finds the work anyway (and other instances' work too).
        deps.onQueued?.();
      },
    },
  };
}
