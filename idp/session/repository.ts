// Storage of IdP sessions and their participants (knex: SQLite, PostgreSQL, MariaDB). Rules (timeouts,
// touching, who runs the end handlers) live in service.ts.
import type { Knex } from 'knex';
import { isUniqueViolation } from '../../auth-server/common/db/errors.js';
import { fromDbMillis, fromDbMillisOrNull } from '../../auth-server/common/db/timestamps.js';

export const sessionsTable = 'idp_sessions';
export const participantsTable = 'idp_session_participants';

export interface SessionRecord {
  id: string;
  server: string;
  secretHash: string;
  userid: string;
  accountId: string;
  amr: string[];
  acr: string;
  /** Epoch milliseconds, as every time below. */
  authTime: number;
  createdAt: number;
  lastSeenAt: number;
  idleExpiresAt: number;
  absoluteExpiresAt: number;
  endedAt: number | null;
  endCause: string | null;
  /** NS's id of the login session it was made from, when known. */
  nsSessionId: string | null;
}

export interface ParticipantRecord {
  key: string;
  protocol: string;
  data: string;
}

interface SessionRow {
  id: string;
  server: string;
  secret_hash: string;
  userid: string;
  account_id: string;
  amr: string;
  acr: string;
  auth_time: unknown;
  created_at: unknown;
  last_seen_at: unknown;
  idle_expires_at: unknown;
  absolute_expires_at: unknown;
  ended_at: unknown;
  end_cause: string | null;
  ns_session_id: string | null;
}

function parseAmr(value: string): string[] {
  try {
    const parsed: unknown = JSON.parse(value);
    return Array.isArray(parsed) ? parsed.filter((v): v is string => typeof v === 'string') : [];
  } catch {
    return [];
  }
}

function toRecord(row: SessionRow): SessionRecord {
  return {
    id: row.id,
    server: row.server,
    secretHash: row.secret_hash,
    userid: row.userid,
    accountId: row.account_id,
    amr: parseAmr(row.amr),
    acr: row.acr,
    authTime: fromDbMillis(row.auth_time),
    createdAt: fromDbMillis(row.created_at),
    lastSeenAt: fromDbMillis(row.last_seen_at),
    idleExpiresAt: fromDbMillis(row.idle_expires_at),
    absoluteExpiresAt: fromDbMillis(row.absolute_expires_at),
    endedAt: fromDbMillisOrNull(row.ended_at),
    endCause: row.end_cause,
    nsSessionId: row.ns_session_id ?? null,
  };
}

export interface IdpSessionRepository {
  insert(record: Omit<SessionRecord, 'endedAt' | 'endCause'>): Promise<void>;
  findBySecretHash(secretHash: string): Promise<SessionRecord | undefined>;
  findById(id: string): Promise<SessionRecord | undefined>;
  /** Sessions of `server` not ended yet (maybe expired) made from this NS login session or account. */
  findUnended(server: string, by: { nsSessionId: string } | { accountId: string }): Promise<SessionRecord[]>;
  /** Moves the idle expiry of a live session; false when it had ended meanwhile. */
  touch(id: string, lastSeenAt: number, idleExpiresAt: number): Promise<boolean>;
  /** Sets `ended_at` once: true only for the caller whose UPDATE changed the row (DESIGN.md §6). */
  markEnded(id: string, endedAt: number, cause: string): Promise<boolean>;
  /** Inserts a participant; false when it was there already. */
  addParticipant(sessionId: string, participant: ParticipantRecord, now: number): Promise<boolean>;
  participants(sessionId: string): Promise<ParticipantRecord[]>;
  /** Sessions of `server` (ended or not) that the participant with this key joined. */
  findByParticipant(server: string, key: string): Promise<SessionRecord[]>;
  /** Hands every participant of `from` to `to` (a same-user login replacing the session). */
  moveParticipants(from: string, to: string): Promise<void>;
  /** Deletes sessions (and their participants) that ended or expired before `before`; returns how many. */
  sweep(before: number): Promise<number>;
}

export function createIdpSessionRepository(knex: Knex): IdpSessionRepository {
  return {
    async insert(r) {
      await knex(sessionsTable).insert({
        id: r.id,
        server: r.server,
        secret_hash: r.secretHash,
        userid: r.userid,
        account_id: r.accountId,
        amr: JSON.stringify(r.amr),
        acr: r.acr,
        auth_time: r.authTime,
        created_at: r.createdAt,
        last_seen_at: r.lastSeenAt,
        idle_expires_at: r.idleExpiresAt,
        absolute_expires_at: r.absoluteExpiresAt,
        ended_at: null,
        end_cause: null,
        ns_session_id: r.nsSessionId,
      });
    },
    async findBySecretHash(secretHash) {
      const row = await knex<SessionRow>(sessionsTable).where({ secret_hash: secretHash }).first();
      return row ? toRecord(row) : undefined;
    },
    async findById(id) {
      const row = await knex<SessionRow>(sessionsTable).where({ id }).first();
      return row ? toRecord(row) : undefined;
    },
    async findUnended(server, by) {
      const where =
        'nsSessionId' in by
          ? { server, ns_session_id: by.nsSessionId }
          : { server, account_id: by.accountId };
      const rows = await knex<SessionRow>(sessionsTable).where(where).whereNull('ended_at').limit(1000);
      return rows.map(toRecord);
    },
    async touch(id, lastSeenAt, idleExpiresAt) {
      const changed = await knex(sessionsTable)
        .where({ id })
        .whereNull('ended_at')
        .update({ last_seen_at: lastSeenAt, idle_expires_at: idleExpiresAt });
      return changed === 1;
    },
    async markEnded(id, endedAt, cause) {
      const changed = await knex(sessionsTable)
        .where({ id })
        .whereNull('ended_at')
        .update({ ended_at: endedAt, end_cause: cause });
      return changed === 1;
    },
    async addParticipant(sessionId, p, now) {
      try {
        await knex(participantsTable).insert({
          session_id: sessionId,
          participant_key: p.key,
          protocol: p.protocol,
          data: p.data,
          created_at: now,
        });
        return true;
      } catch (err) {
        if (isUniqueViolation(err)) return false;
        throw err;
      }
    },
    async participants(sessionId) {
      const rows = await knex(participantsTable)
        .where({ session_id: sessionId })
        .orderBy([{ column: 'created_at' }, { column: 'participant_key' }])
        .select('participant_key', 'protocol', 'data');
      return rows.map((r: { participant_key: string; protocol: string; data: string }) => ({
        key: r.participant_key,
        protocol: r.protocol,
        data: r.data,
      }));
    },
    async findByParticipant(server, key) {
      const rows = await knex<SessionRow>(sessionsTable)
        .where({ server })
        .whereIn('id', knex(participantsTable).select('session_id').where({ participant_key: key }))
        .select(`${sessionsTable}.*`);
      return rows.map(toRecord);
    },
    async moveParticipants(from, to) {
      await knex(participantsTable).where({ session_id: from }).update({ session_id: to });
    },
    async sweep(before) {
      return knex.transaction(async (trx): Promise<number> => {
        const gone = trx(sessionsTable)
          .select('id')
          .where((q) =>
            q
              .where('ended_at', '<', before)
              .orWhere('idle_expires_at', '<', before)
              .orWhere('absolute_expires_at', '<', before),
          )
          .limit(500);
        // MariaDB refuses a DELETE whose subquery reads the same table: fetch the ids first.
        const ids = (await gone).map((r: { id: string }) => r.id);
        if (ids.length === 0) return 0;
        await trx(participantsTable).whereIn('session_id', ids).delete();
        return Number(await trx(sessionsTable).whereIn('id', ids).delete());
      });
    },
  };
}
