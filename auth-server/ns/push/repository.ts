// Storage of push requests (one-time, number matched) and of the push columns of accounts (where pushes
// go, until when they are blocked).
import type { Knex } from 'knex';
import { consumeOnce } from '../../common/db/consume.js';
import { deleteExpiredRows } from '../../common/db/sweep.js';
import { fromDbMillis, fromDbMillisOrNull } from '../../common/db/timestamps.js';

const table = 'ns_push_requests';

export interface PushRequest {
  id: string;
  serverId: string;
  sessionId: string;
  accountId: string;
  codeHash: string;
  match: number;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
  outcome: string | null;
}

interface Row {
  id: string;
  server_id: string;
  session_id: string;
  account_id: string;
  code_hash: string;
  match_number: number;
  created_at: unknown;
  expires_at: unknown;
  used_at: unknown;
  outcome: string | null;
}

const toDomain = (row: Row): PushRequest => ({
  id: row.id,
  serverId: row.server_id,
  sessionId: row.session_id,
  accountId: row.account_id,
  codeHash: row.code_hash,
  match: Number(row.match_number),
  createdAt: fromDbMillis(row.created_at),
  expiresAt: fromDbMillis(row.expires_at),
  usedAt: fromDbMillisOrNull(row.used_at),
  outcome: row.outcome,
});

export interface PushRepository {
  save(request: Omit<PushRequest, 'usedAt' | 'outcome'>): Promise<void>;
  find(id: string): Promise<PushRequest | undefined>;
  /** Open (unused, unexpired at `now`) requests of the account. */
  countOpen(accountId: string, now: number): Promise<number>;
  /** Uses the request up with `outcome`: true for exactly one of N concurrent callers, only while open. */
  consume(id: string, now: number, outcome: string): Promise<boolean>;
  delete(id: string): Promise<void>;
  pushKey(accountId: string): Promise<{ thumbprint: string | null; blockedUntil: number | null }>;
  setPushKey(accountId: string, thumbprint: string): Promise<void>;
  blockPushes(accountId: string, until: number): Promise<void>;
  recordPush(accountId: string, now: number): Promise<void>;
  /** Removes requests (open or used) that expired before `before`; the sweeper's part. */
  deleteExpired(before: number): Promise<number>;
}

/** Pass a transaction as `knex` to consume together with the session's move. */
export function createPushRepository(knex: Knex): PushRepository {
  return {
    async save(r) {
      await knex(table).insert({
        id: r.id,
        server_id: r.serverId,
        session_id: r.sessionId,
        account_id: r.accountId,
        code_hash: r.codeHash,
        match_number: r.match,
        created_at: r.createdAt,
        expires_at: r.expiresAt,
      });
    },
    async find(id) {
      const row = await knex<Row>(table).where({ id }).first();
      return row ? toDomain(row) : undefined;
    },
    async countOpen(accountId, now) {
      const row = await knex(table)
        .where({ account_id: accountId })
        .whereNull('used_at')
        .andWhere('expires_at', '>', now)
        .count<{ n: number | string }[]>({ n: '*' })
        .first();
      return Number(row?.n ?? 0);
    },
    async consume(id, now, outcome) {
      const won = await consumeOnce(knex, { table, id, expiresAtColumn: 'expires_at', now: new Date(now) });
      if (won) await knex(table).where({ id }).update({ outcome });
      return won;
    },
    async delete(id) {
      await knex(table).where({ id }).delete();
    },
    async pushKey(accountId) {
      const row = await knex('ns_accounts')
        .where({ id: accountId })
        .first<{ push_key_thumbprint: string | null; push_blocked_until: unknown } | undefined>(
          'push_key_thumbprint',
          'push_blocked_until',
        );
      return {
        thumbprint: row?.push_key_thumbprint ?? null,
        blockedUntil: row ? fromDbMillisOrNull(row.push_blocked_until) : null,
      };
    },
    async setPushKey(accountId, thumbprint) {
      await knex('ns_accounts').where({ id: accountId }).update({ push_key_thumbprint: thumbprint });
    },
    async blockPushes(accountId, until) {
      await knex('ns_accounts').where({ id: accountId }).update({ push_blocked_until: until });
    },
    async recordPush(accountId, now) {
      await knex('ns_accounts').where({ id: accountId }).update({ last_push_at: now });
    },
    deleteExpired: (before) =>
      deleteExpiredRows(knex, { table, keyColumn: 'id', expiresAtColumn: 'expires_at' }, before),
  };
}

/** The id: base64url of 16 random bytes (22 characters), as MC message ids are. */
export const pushRequestIdPattern = /^[A-Za-z0-9_-]{22}$/;
