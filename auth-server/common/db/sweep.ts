// Batched deletion of expired rows: short transactions and bounded statements, whatever the backlog.
import type { Knex } from 'knex';

export interface SweepTarget {
  table: string;
  /** Primary key column. */
  keyColumn: string;
  /** Epoch-milliseconds expiry column (indexed). */
  expiresAtColumn: string;
}

/**
 * Deletes rows whose expiry lies before `before`, `batchSize` keys at a time (select, then delete by key:
 * MySQL refuses LIMIT inside an IN subquery). Returns how many rows went. A row that another instance
 * deletes meanwhile is simply not counted twice.
 */
export async function deleteExpiredRows(
  knex: Knex,
  target: SweepTarget,
  before: number,
  batchSize = 500,
): Promise<number> {
  let deleted = 0;
  for (;;) {
    const keys = (await knex(target.table)
      .where(target.expiresAtColumn, '<', before)
      .orderBy(target.expiresAtColumn)
      .limit(batchSize)
      .pluck(target.keyColumn)) as string[];
    if (keys.length === 0) return deleted;
    deleted += Number(await knex(target.table).whereIn(target.keyColumn, keys).del());
    if (keys.length < batchSize) return deleted;
  }
}
