// Storage of recovery codes: replace a user's set in one go, count the unused ones, and use one with a
// guarded UPDATE (`… AND used_at IS NULL`), so of concurrent uses of one code exactly one wins.
import type { Knex } from 'knex';

const table = 'ns_recovery_codes';

export interface RecoveryCodeRepository {
  /** Deletes the user's codes (used or not) and stores these hashes instead. */
  replace(
    serverId: string,
    userid: string,
    rows: { id: string; codeHash: string }[],
    now: number,
  ): Promise<void>;
  countUnused(serverId: string, userid: string): Promise<number>;
  /** True for the one caller that marked the unused code used. */
  consume(serverId: string, userid: string, codeHash: string, now: number): Promise<boolean>;
}

export function createRecoveryCodeRepository(knex: Knex): RecoveryCodeRepository {
  return {
    async replace(serverId, userid, rows, now) {
      await knex(table).where({ server_id: serverId, userid }).del();
      await knex(table).insert(
        rows.map((r) => ({
          id: r.id,
          server_id: serverId,
          userid,
          code_hash: r.codeHash,
          created_at: now,
          used_at: null,
        })),
      );
    },

    async countUnused(serverId, userid) {
      const [row] = await knex(table)
        .where({ server_id: serverId, userid })
        .whereNull('used_at')
        .count({ n: '*' });
      return Number(row?.n ?? 0);
    },

    async consume(serverId, userid, codeHash, now) {
      const changed: unknown = await knex(table)
        .where({ server_id: serverId, userid, code_hash: codeHash })
        .whereNull('used_at')
        .update({ used_at: now });
      return changed === 1;
    },
  };
}
