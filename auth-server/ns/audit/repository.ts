// Storage of audit events: Append and Find only — there is deliberately no update or delete (the table is
// append-only; SQLite and PostgreSQL also refuse UPDATE/DELETE with a trigger, see migrations/ns/0005).
import type { Knex } from 'knex';
import { fromDbMillis } from '../../common/db/timestamps.js';
import {
  type AuditCursor,
  type AuditEvent,
  type AuditFilter,
  type AuditOrder,
  actorKindSchema,
  auditDetailsSchema,
  auditEventTypeSchema,
  subjectKindSchema,
} from './model.js';

export const auditTable = 'ns_audit_events';

export interface AuditFind extends AuditFilter {
  order: AuditOrder;
  /** Only events strictly after this position in `order`. */
  after?: AuditCursor;
  limit: number;
}

export interface AuditRepository {
  /** Inserts one event; with a transaction handle it commits or rolls back with the caller's change. */
  append(event: AuditEvent): Promise<void>;
  /** Matching events in (time, id) order, ascending or descending, at most `limit`. */
  find(query: AuditFind): Promise<AuditEvent[]>;
}

interface Row {
  id: string;
  occurred_at: unknown;
  server_id: string | null;
  server_name: string | null;
  type: string;
  actor_kind: string;
  actor_id: string;
  subject_kind: string;
  subject_id: string;
  ip: string | null;
  user_agent: string | null;
  details: string;
}

function toDomain(row: Row): AuditEvent {
  return {
    id: row.id,
    time: fromDbMillis(row.occurred_at),
    type: auditEventTypeSchema.parse(row.type),
    server:
      row.server_id !== null && row.server_name !== null
        ? { id: row.server_id, name: row.server_name }
        : null,
    actor: { kind: actorKindSchema.parse(row.actor_kind), id: row.actor_id },
    subject: { kind: subjectKindSchema.parse(row.subject_kind), id: row.subject_id },
    ip: row.ip,
    userAgent: row.user_agent,
    details: auditDetailsSchema.parse(JSON.parse(row.details)),
  };
}

/** `db` may be the service's knex or a caller's transaction. */
export function createAuditRepository(db: Knex): AuditRepository {
  return {
    async append(event) {
      const row: Row = {
        id: event.id,
        occurred_at: event.time,
        server_id: event.server?.id ?? null,
        server_name: event.server?.name ?? null,
        type: event.type,
        actor_kind: event.actor.kind,
        actor_id: event.actor.id,
        subject_kind: event.subject.kind,
        subject_id: event.subject.id,
        ip: event.ip,
        user_agent: event.userAgent,
        details: JSON.stringify(event.details),
      };
      await db(auditTable).insert(row);
    },

    async find(query) {
      const q = db<Row>(auditTable).select('*');
      if (query.serverId !== undefined) q.where('server_id', query.serverId);
      if (query.serverName !== undefined) q.where('server_name', query.serverName);
      if (query.types !== undefined) q.whereIn('type', [...query.types]);
      if (query.actor !== undefined) {
        q.where('actor_kind', query.actor.kind);
        if (query.actor.id !== undefined) q.where('actor_id', query.actor.id);
      }
      if (query.subject !== undefined) {
        q.where('subject_kind', query.subject.kind);
        if (query.subject.id !== undefined) q.where('subject_id', query.subject.id);
      }
      if (query.since !== undefined) q.where('occurred_at', '>=', query.since);
      if (query.until !== undefined) q.where('occurred_at', '<', query.until);
      const { after } = query;
      if (after !== undefined) {
        // Keyset paging over (occurred_at, id): stable while rows are appended, whatever the page size.
        const op = query.order === 'asc' ? '>' : '<';
        q.where((w) =>
          w
            .where('occurred_at', op, after.time)
            .orWhere((same) => same.where('occurred_at', after.time).andWhere('id', op, after.id)),
        );
      }
      const rows = await q
        .orderBy([
          { column: 'occurred_at', order: query.order },
          { column: 'id', order: query.order },
        ])
        .limit(query.limit);
      return rows.map(toDomain);
    },
  };
}
