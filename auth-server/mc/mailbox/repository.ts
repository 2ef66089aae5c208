// The sealed mailbox: messages per app instance in insertion order, pulled by cursor, acknowledged, swept.
import type { Knex } from 'knex';
import type { McMessage } from '../../../protocol/mobile/mc.js';
import { isUniqueViolation } from '../../common/db/errors.js';
import { fromDbMillis } from '../../common/db/timestamps.js';
import { McError } from '../errors.js';

export const mcMessagesTable = 'mc_messages';

interface Row {
  seq: unknown;
  id: string;
  instance_id: string;
  sealed: string;
  collapse_id: string | null;
  created_at: unknown;
  expires_at: unknown;
  delivered_at: unknown;
  acked_at: unknown;
}

export interface NewMessage {
  id: string;
  instanceId: string;
  sealed: string;
  collapseId: string | null;
  createdAt: number;
  expiresAt: number;
}

export interface MailboxRepository {
  /**
   * Stores a message: an unacknowledged one with the same collapse id goes first, and the instance's
   * pending messages (unacknowledged, unexpired) must stay below `maxPending` (else `mailbox_full`).
   * A reused id is `duplicate_message`. Returns the stored message with its cursor.
   */
  insert(message: NewMessage, maxPending: number, now: number): Promise<McMessage>;
  /** Pending messages of one instance after `after`, oldest first; `more` when the page was cut. */
  pull(
    instanceId: string,
    options: { after?: string; limit: number; maxBytes: number; now: number },
  ): Promise<{ messages: McMessage[]; more: boolean }>;
  /** Notes the first hand-over to the device (best effort; delivery is not acknowledgement). */
  markDelivered(ids: readonly string[], now: number): Promise<void>;
  /** Acknowledges the instance's own unacknowledged messages among `ids`; returns how many. */
  ack(instanceId: string, ids: readonly string[], now: number): Promise<number>;
  /** Deletes acknowledged messages and those expired before `expiredBefore`, in batches. */
  sweep(expiredBefore: number, batchSize?: number): Promise<number>;
}

export function toMessage(row: Row): McMessage {
  return {
    id: row.id,
    cursor: String(fromDbMillis(row.seq)),
    createdAt: fromDbMillis(row.created_at),
    expiresAt: fromDbMillis(row.expires_at),
    sealed: row.sealed,
  };
}

export function createMailboxRepository(knex: Knex): MailboxRepository {
  const pending = (q: Knex.QueryBuilder, instanceId: string, now: number) =>
    q.where({ instance_id: instanceId }).whereNull('acked_at').andWhere('expires_at', '>', now);

  return {
    async insert(message, maxPending, now) {
      try {
        return await knex.transaction(async (trx) => {
          if (message.collapseId !== null)
            await trx(mcMessagesTable)
              .where({ instance_id: message.instanceId, collapse_id: message.collapseId })
              .whereNull('acked_at')
              .del();
          const counted = await pending(trx(mcMessagesTable), message.instanceId, now).count({ n: '*' });
          // The check and the insert are not atomic across instances: a burst may overshoot by the number
          // of concurrent posts, which bounds storage just as well and needs no lock per mailbox.
          if (Number((counted[0] as { n: unknown } | undefined)?.n ?? 0) >= maxPending)
            throw new McError('mailbox_full');
          await trx(mcMessagesTable).insert({
            id: message.id,
            instance_id: message.instanceId,
            sealed: message.sealed,
            collapse_id: message.collapseId,
            created_at: message.createdAt,
            expires_at: message.expiresAt,
            delivered_at: null,
            acked_at: null,
          });
          const row = await trx<Row>(mcMessagesTable).where({ id: message.id }).first();
          if (!row) throw new Error('inserted message not found');
          return toMessage(row);
        });
      } catch (err) {
        if (isUniqueViolation(err)) throw new McError('duplicate_message');
        throw err;
      }
    },

    async pull(instanceId, { after, limit, maxBytes, now }) {
      let q = pending(knex<Row>(mcMessagesTable), instanceId, now);
      if (after !== undefined) q = q.andWhere('seq', '>', Number(after));
      const rows = (await q.orderBy('seq').limit(limit + 1)) as Row[];
      const messages: McMessage[] = [];
      let bytes = 0;
      for (const row of rows.slice(0, limit)) {
        bytes += row.sealed.length + 200;
        // A page always carries at least one message, so a pull never stalls on a large one.
        if (messages.length > 0 && bytes > maxBytes) return { messages, more: true };
        messages.push(toMessage(row));
      }
      return { messages, more: rows.length > limit };
    },

    async markDelivered(ids, now) {
      if (ids.length === 0) return;
      await knex(mcMessagesTable).whereIn('id', ids).whereNull('delivered_at').update({ delivered_at: now });
    },

    async ack(instanceId, ids, now) {
      const affected: unknown = await knex(mcMessagesTable)
        .where({ instance_id: instanceId })
        .whereIn('id', ids)
        .whereNull('acked_at')
        .update({ acked_at: now });
      return Number(affected);
    },

    async sweep(expiredBefore, batchSize = 500) {
      let deleted = 0;
      for (;;) {
        const keys = (await knex(mcMessagesTable)
          .whereNotNull('acked_at')
          .orWhere('expires_at', '<', expiredBefore)
          .limit(batchSize)
          .pluck('seq')) as unknown[];
        if (keys.length === 0) return deleted;
        deleted += Number(
          await knex(mcMessagesTable)
            .whereIn('seq', keys as number[])
            .del(),
        );
        if (keys.length < batchSize) return deleted;
      }
    },
  };
}
