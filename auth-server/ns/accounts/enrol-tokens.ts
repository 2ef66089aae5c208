// Storage of one-time enrol tokens (only their SHA-256 is kept) with atomic, expiry-aware consumption.
import type { Knex } from 'knex';
import { consumeOnce } from '../../common/db/consume.js';
import { deleteExpiredRows } from '../../common/db/sweep.js';
import { fromDbMillis, fromDbMillisOrNull } from '../../common/db/timestamps.js';
import type { EnrolToken } from './model.js';

const table = 'ns_enrol_tokens';

export interface EnrolTokenRepository {
  save(token: Omit<EnrolToken, 'usedAt'>): Promise<void>;
  find(tokenHash: string): Promise<EnrolToken | undefined>;
  /** True for exactly one of N concurrent callers, and only while unused and unexpired at `now`. */
  consume(tokenHash: string, serverId: string, now: number): Promise<boolean>;
  /** Records the account a token created (in the transaction that consumed it). */
  setAccount(tokenHash: string, accountId: string): Promise<void>;
  /** Deletes tokens that expired before `before` (used or not); returns how many. */
  deleteExpired(before: number): Promise<number>;
}

interface Row {
  token_hash: string;
  server_id: string;
  userid: string;
  announce_info: string | null;
  created_at: unknown;
  expires_at: unknown;
  used_at: unknown;
  account_id?: string | null;
}

function toDomain(row: Row): EnrolToken {
  const usedAt = fromDbMillisOrNull(row.used_at);
  return {
    tokenHash: row.token_hash,
    serverId: row.server_id,
    userid: row.userid,
    announceInfo: row.announce_info,
    createdAt: new Date(fromDbMillis(row.created_at)),
    expiresAt: new Date(fromDbMillis(row.expires_at)),
    usedAt: usedAt === null ? null : new Date(usedAt),
    accountId: row.account_id ?? null,
  };
}

export function createEnrolTokenRepository(knex: Knex): EnrolTokenRepository {
  return {
    async save(t) {
      await knex(table).insert({
        token_hash: t.tokenHash,
        server_id: t.serverId,
        userid: t.userid,
        announce_info: t.announceInfo,
        created_at: t.createdAt.getTime(),
        expires_at: t.expiresAt.getTime(),
        used_at: null,
      });
    },

    async find(tokenHash) {
      const row = await knex<Row>(table).where({ token_hash: tokenHash }).first();
      return row ? toDomain(row) : undefined;
    },

    consume: (tokenHash, serverId, now) =>
      consumeOnce(knex, {
        table,
        idColumn: 'token_hash',
        id: tokenHash,
        expiresAtColumn: 'expires_at',
        now: new Date(now),
        extraWhere: { server_id: serverId },
      }),

    async setAccount(tokenHash, accountId) {
      await knex(table).where({ token_hash: tokenHash }).update({ account_id: accountId });
    },

    deleteExpired: (before) =>
      deleteExpiredRows(knex, { table, keyColumn: 'token_hash', expiresAtColumn: 'expires_at' }, before),
  };
}
