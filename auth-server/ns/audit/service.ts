// The audit log: other NS services record security events (inside their own transaction where they have
// one); operators query them with filters and keyset paging, or export them as a stream.
import type { Knex } from 'knex';
import type { Clock, Random } from '../../common/clock.js';
import { decodeMarker, encodeMarker } from './marker.js';
import {
  type AuditEvent,
  type AuditFilter,
  type AuditOrder,
  auditDetailsSchema,
  type NewAuditEvent,
  newAuditEventSchema,
} from './model.js';
import { createAuditRepository } from './repository.js';

export interface AuditRecorder {
  /**
   * Validates and appends one event. Pass the caller's transaction as `db` so that a rolled-back change
   * leaves no audit row and a failed audit write rolls the change back. Throws on failure: a security
   * event that cannot be recorded must fail the operation, never vanish.
   */
  record(event: NewAuditEvent, db?: Knex): Promise<AuditEvent>;
}

export interface AuditQuery extends AuditFilter {
  /** Default `desc` (newest first). */
  order?: AuditOrder;
  /** 1–1000, default 100. */
  limit?: number;
  /** From a previous page's `nextMarker` (same order); AuditError `invalid_marker` otherwise. */
  marker?: string;
}

export interface AuditPage {
  events: AuditEvent[];
  /**
   * `desc`: the marker of the next (older) page, null when there is none. `asc`: where to continue —
   * after the last event returned, or the given marker when nothing new arrived — so a poller always has
   * a position (null only when nothing matched and no marker was given).
   */
  nextMarker: string | null;
}

export interface AuditService extends AuditRecorder {
  query(query: AuditQuery): Promise<AuditPage>;
  /**
   * Every matching event recorded up to the moment of the call, oldest first, read in keyset-paged
   * batches (no long-lived cursor or transaction, so a slow reader never holds a connection).
   */
  export(filter: AuditFilter, options?: { batchSize?: number }): AsyncGenerator<AuditEvent>;
}

export const maxAuditPageSize = 1000;
export const defaultAuditPageSize = 100;

export function createAuditService(deps: { db: Knex; clock: Clock; random: Random }): AuditService {
  const { db, clock, random } = deps;
  const repository = createAuditRepository(db);

  return {
    async record(input, trx) {
      const { actingAs, ...parsed } = newAuditEventSchema.parse(input);
      const event: AuditEvent = {
        // Hex, not base64url: the (time, id) keyset order must not depend on a database's collation.
        id: Buffer.from(random.bytes(16)).toString('hex'),
        time: clock.now(),
        ...parsed,
        details:
          actingAs === undefined ? parsed.details : auditDetailsSchema.parse({ ...parsed.details, actingAs }),
      };
      await (trx ? createAuditRepository(trx) : repository).append(event);
      return event;
    },

    async query(query) {
      const order = query.order ?? 'desc';
      const limit = query.limit ?? defaultAuditPageSize;
      if (!Number.isInteger(limit) || limit < 1 || limit > maxAuditPageSize)
        throw new RangeError(`limit must be 1–${maxAuditPageSize}`);
      const after = query.marker !== undefined ? decodeMarker(query.marker, order) : undefined;
      const { marker: _m, order: _o, limit: _l, ...filter } = query;
      // One extra row tells whether another page exists without a second query.
      const rows = await repository.find({
        ...filter,
        order,
        limit: limit + 1,
        ...(after ? { after } : {}),
      });
      const events = rows.slice(0, limit);
      const last = events.at(-1);
      let nextMarker: string | null;
      if (order === 'desc') nextMarker = rows.length > limit && last ? encodeMarker(last, order) : null;
      else nextMarker = last ? encodeMarker(last, order) : (query.marker ?? null);
      return { events, nextMarker };
    },

    async *export(filter, options = {}) {
      const batchSize = options.batchSize ?? 500;
      // Bounded by the start: an export under constant load still ends.
      const until = Math.min(filter.until ?? Number.MAX_SAFE_INTEGER, clock.now() + 1);
      let after: AuditEvent | undefined;
      for (;;) {
        const batch = await repository.find({
          ...filter,
          until,
          order: 'asc',
          limit: batchSize,
          ...(after ? { after } : {}),
        });
        yield* batch;
        if (batch.length < batchSize) return;
        after = batch.at(-1);
      }
    },
  };
}
