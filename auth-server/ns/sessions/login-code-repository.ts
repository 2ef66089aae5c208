// Storage of login codes by hash: idempotent issue per rotation window, atomic one-time redemption.
import type { Knex } from 'knex';
import { consumeOnce } from '../../common/db/consume.js';
import { fromDbMillis, fromDbMillisOrNull } from '../../common/db/timestamps.js';

const table = 'ns_login_codes';

export interface LoginCodeRecord {
  codeHash: string;
  sessionId: string;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
}

export interface LoginCodeRepository {
  /** Stores the code unless it exists already (every instance derives the same code per window). */
  saveIfAbsent(record: Omit<LoginCodeRecord, 'usedAt'>): Promise<void>;
  find(codeHash: string): Promise<LoginCodeRecord | undefined>;
  /** True for exactly one of N concurrent callers, and only while unused and unexpired at `now`. */
  consume(codeHash: string, now: number): Promise<boolean>;
}

interface Row {
  code_hash: string;
  session_id: string;
  created_at: unknown;
  expires_at: unknown;
  used_at: unknown;
}

/** Pass a transaction as `knex` to consume together with the session's transition. */
export function createLoginCodeRepository(knex: Knex): LoginCodeRepository {
  return {
    async saveIfAbsent(record) {
      await knex(table)
        .insert({
          code_hash: record.codeHash,
          session_id: record.sessionId,
          created_at: record.createdAt,
          expires_at: record.expiresAt,
        })
        .onConflict('code_hash')
        .ignore();
    },

    async find(codeHash) {
      const row = await knex<Row>(table).where({ code_hash: codeHash }).first();
      if (!row) return undefined;
      return {
        codeHash: row.code_hash,
        sessionId: row.session_id,
        createdAt: fromDbMillis(row.created_at),
        expiresAt: fromDbMillis(row.expires_at),
        usedAt: fromDbMillisOrNull(row.used_at),
      };
    },

    consume(codeHash, now) {
      return consumeOnce(knex, {
        table,
        idColumn: 'code_hash',
        id: codeHash,
        expiresAtColumn: 'expires_at',
        now: new Date(now),
      });
    },
  };
}
