// Row locking for read-modify-write transactions that behaves the same on SQLite, PostgreSQL and MariaDB.
import type { Knex } from 'knex';

/**
 * Locks the matching rows for the rest of the transaction by writing a column to itself, and returns how
 * many matched. `SELECT … FOR UPDATE` does not exist on SQLite, where a transaction that reads first and
 * writes later fails with SQLITE_BUSY once another connection wrote in between; a write as the first
 * statement instead waits for the single write lock (busy_timeout) and takes a row lock on the servers.
 * Call it first inside the transaction.
 */
export async function lockRows(
  trx: Knex.Transaction,
  table: string,
  where: Record<string, unknown>,
  column: string,
): Promise<number> {
  const affected: unknown = await trx(table)
    .where(where)
    .update({ [column]: trx.ref(column) });
  return typeof affected === 'number' ? affected : 0;
}
