// Storage of webhooks and their delivery queue (knex). Claims are conditional UPDATEs told apart by the
// affected-row count (MariaDB has no UPDATE … RETURNING), so of two dispatchers exactly one sends a delivery.
import type { Knex } from 'knex';
import { z } from 'zod';
import { fromDbMillis, fromDbMillisOrNull } from '../../common/db/timestamps.js';
import { webhookEventTypeSchema } from '../events/model.js';
import { type DeliveryState, deliveryStateSchema, type Webhook, type WebhookDelivery } from './model.js';

const webhooks = 'ns_webhooks';
const deliveries = 'ns_webhook_deliveries';

const eventTypesSchema = z.array(webhookEventTypeSchema);

interface WebhookRow {
  id: string;
  server_id: string;
  url: string;
  event_types: string;
  description: string | null;
  secret_sealed: string;
  created_at: unknown;
  created_by: string | null;
}

function toWebhook(row: WebhookRow): Webhook {
  return {
    id: row.id,
    serverId: row.server_id,
    url: row.url,
    events: eventTypesSchema.parse(JSON.parse(row.event_types)),
    description: row.description,
    createdAt: new Date(fromDbMillis(row.created_at)),
    createdBy: row.created_by,
  };
}

interface DeliveryRow {
  id: string;
  webhook_id: string;
  event_id: string;
  event_type: string;
  state: string;
  attempts: number | string;
  next_attempt_at: unknown;
  last_status: number | null;
  last_error: string | null;
  created_at: unknown;
  updated_at: unknown;
  delivered_at: unknown;
}

function toDelivery(row: DeliveryRow): WebhookDelivery {
  const deliveredAt = fromDbMillisOrNull(row.delivered_at);
  return {
    id: row.id,
    webhookId: row.webhook_id,
    eventId: row.event_id,
    eventType: row.event_type,
    state: deliveryStateSchema.parse(row.state),
    attempts: Number(row.attempts),
    nextAttemptAt: new Date(fromDbMillis(row.next_attempt_at)),
    lastStatus: row.last_status === null ? null : Number(row.last_status),
    lastError: row.last_error,
    createdAt: new Date(fromDbMillis(row.created_at)),
    updatedAt: new Date(fromDbMillis(row.updated_at)),
    deliveredAt: deliveredAt === null ? null : new Date(deliveredAt),
  };
}

export interface NewDelivery {
  id: string;
  webhookId: string;
  eventId: string;
  eventType: string;
  payload: string;
  now: number;
}

/** A claimed delivery with what sending it needs. */
export interface ClaimedDelivery {
  id: string;
  webhookId: string;
  eventId: string;
  payload: string;
  /** Including this one. */
  attempts: number;
  claimToken: string;
  url: string;
  secretSealed: string;
}

export interface DeliveryOutcome {
  state: Extract<DeliveryState, 'delivered' | 'pending' | 'failed'>;
  status: number | null;
  error: string | null;
  nextAttemptAt: number;
  now: number;
}

export interface WebhookRepository {
  save(webhook: Webhook, secretSealed: string): Promise<void>;
  list(serverId: string): Promise<Webhook[]>;
  /** Id and event types of each webhook of the server: all that queuing an event needs (one narrow read). */
  subscriptions(serverId: string): Promise<{ id: string; events: string[] }[]>;
  count(serverId: string): Promise<number>;
  find(serverId: string, id: string): Promise<Webhook | undefined>;
  /** Returns whether a webhook of that server was deleted (its deliveries go with it). */
  delete(serverId: string, id: string): Promise<boolean>;
  enqueue(items: readonly NewDelivery[]): Promise<void>;
  /** Ids of deliveries due at `now` (pending, or claimed by someone whose lease ran out), oldest first. */
  due(now: number, limit: number): Promise<string[]>;
  /** Takes one due delivery for `leaseMs`; undefined when another dispatcher took it first. */
  claim(id: string, claimToken: string, now: number, leaseMs: number): Promise<ClaimedDelivery | undefined>;
  /** Records the outcome if this claim still holds (a dispatcher whose lease ran out changes nothing). */
  finish(id: string, claimToken: string, outcome: DeliveryOutcome): Promise<boolean>;
  deliveries(
    webhookId: string,
    options: { limit: number; state?: DeliveryState },
  ): Promise<WebhookDelivery[]>;
  /** Removes delivered and failed deliveries last updated before `before`; returns how many. */
  deleteFinished(before: number): Promise<number>;
}

export function createWebhookRepository(db: Knex): WebhookRepository {
  const dueWhere = (q: Knex.QueryBuilder, now: number) =>
    q.where((w) =>
      w
        .where((p) => p.where('state', 'pending').andWhere('next_attempt_at', '<=', now))
        .orWhere((d) => d.where('state', 'delivering').andWhere('lease_until', '<=', now)),
    );

  return {
    async save(webhook, secretSealed) {
      await db(webhooks).insert({
        id: webhook.id,
        server_id: webhook.serverId,
        url: webhook.url,
        event_types: JSON.stringify(webhook.events),
        description: webhook.description,
        secret_sealed: secretSealed,
        created_at: webhook.createdAt.getTime(),
        created_by: webhook.createdBy,
      });
    },

    async list(serverId) {
      const rows: WebhookRow[] = await db(webhooks)
        .where({ server_id: serverId })
        .orderBy(['created_at', 'id']);
      return rows.map(toWebhook);
    },

    async subscriptions(serverId) {
      const rows: { id: string; event_types: string }[] = await db(webhooks)
        .select('id', 'event_types')
        .where({ server_id: serverId });
      return rows.map((r) => ({ id: r.id, events: eventTypesSchema.parse(JSON.parse(r.event_types)) }));
    },

    async count(serverId) {
      const row = await db(webhooks).where({ server_id: serverId }).count({ n: '*' }).first();
      return Number(row?.n ?? 0);
    },

    async find(serverId, id) {
      const row: WebhookRow | undefined = await db(webhooks).where({ server_id: serverId, id }).first();
      return row ? toWebhook(row) : undefined;
    },

    async delete(serverId, id) {
      return db.transaction(async (trx) => {
        const found = await trx(webhooks).where({ server_id: serverId, id }).first('id');
        if (!found) return false;
        // Deliveries first, so the result does not depend on each database's cascade settings.
        await trx(deliveries).where({ webhook_id: id }).delete();
        await trx(webhooks).where({ id }).delete();
        return true;
      });
    },

    async enqueue(items) {
      if (items.length === 0) return;
      await db(deliveries).insert(
        items.map((d) => ({
          id: d.id,
          webhook_id: d.webhookId,
          event_id: d.eventId,
          event_type: d.eventType,
          payload: d.payload,
          state: 'pending',
          attempts: 0,
          next_attempt_at: d.now,
          claim_token: null,
          lease_until: null,
          last_status: null,
          last_error: null,
          created_at: d.now,
          updated_at: d.now,
          delivered_at: null,
        })),
      );
    },

    async due(now, limit) {
      const rows: { id: string }[] = await dueWhere(db(deliveries).select('id'), now)
        .orderBy('next_attempt_at')
        .limit(limit);
      return rows.map((r) => r.id);
    },

    async claim(id, claimToken, now, leaseMs) {
      const affected: unknown = await dueWhere(db(deliveries).where({ id }), now).update({
        state: 'delivering',
        claim_token: claimToken,
        lease_until: now + leaseMs,
        attempts: db.raw('attempts + 1'),
        updated_at: now,
      });
      if (affected !== 1) return undefined;
      const row = await db(`${deliveries} as d`)
        .join(`${webhooks} as w`, 'w.id', 'd.webhook_id')
        .where({ 'd.id': id, 'd.claim_token': claimToken })
        .first('d.id', 'd.webhook_id', 'd.event_id', 'd.payload', 'd.attempts', 'w.url', 'w.secret_sealed');
      if (!row) return undefined;
      return {
        id: row.id,
        webhookId: row.webhook_id,
        eventId: row.event_id,
        payload: row.payload,
        attempts: Number(row.attempts),
        claimToken,
        url: row.url,
        secretSealed: row.secret_sealed,
      };
    },

    async finish(id, claimToken, outcome) {
      const affected: unknown = await db(deliveries)
        .where({ id, claim_token: claimToken, state: 'delivering' })
        .update({
          state: outcome.state,
          claim_token: null,
          lease_until: null,
          next_attempt_at: outcome.nextAttemptAt,
          last_status: outcome.status,
          last_error: outcome.error === null ? null : outcome.error.slice(0, 200),
          updated_at: outcome.now,
          ...(outcome.state === 'delivered' ? { delivered_at: outcome.now } : {}),
        });
      return affected === 1;
    },

    async deliveries(webhookId, options) {
      let q = db(deliveries).where({ webhook_id: webhookId });
      if (options.state) q = q.andWhere({ state: options.state });
      const rows: DeliveryRow[] = await q
        .orderBy([
          { column: 'created_at', order: 'desc' },
          { column: 'id', order: 'desc' },
        ])
        .limit(options.limit);
      return rows.map(toDelivery);
    },

    async deleteFinished(before) {
      const removed: unknown = await db(deliveries)
        .whereIn('state', ['delivered', 'failed'])
        .andWhere('updated_at', '<', before)
        .delete();
      return Number(removed);
    },
  };
}
