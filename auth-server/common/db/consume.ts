// Atomic one-time consumption (DESIGN.md §6): of N concurrent redemptions across instances exactly one wins.
import type { Knex } from 'knex';

export interface ConsumeOnceOptions {
  table: string;
  /** Default `id`. */
  idColumn?: string;
  id: string;
  /** BIGINT epoch-ms column, NULL while unused. Default `used_at`. */
  usedAtColumn?: string;
  /** When given, only rows with `expiresAtColumn > now` can be consumed. */
  expiresAtColumn?: string;
  now: Date;
  /** Further equality conditions (e.g. the client the code was issued to). */
  extraWhere?: Record<string, unknown>;
}

/**
 * Marks the row used and reports whether this caller did it. A conditional UPDATE is the one primitive all
 * three databases make atomic per row (MariaDB has no UPDATE … RETURNING, so the winner is told by the
 * affected-row count). Pass a transaction as `knex` to consume together with other writes.
 */
export async function consumeOnce(knex: Knex, options: ConsumeOnceOptions): Promise<boolean> {
  const usedAt = options.usedAtColumn ?? 'used_at';
  const now = options.now.getTime();
  let query = knex(options.table)
    .where(options.idColumn ?? 'id', options.id)
    .whereNull(usedAt);
  if (options.expiresAtColumn) query = query.andWhere(options.expiresAtColumn, '>', now);
  if (options.extraWhere) query = query.andWhere(options.extraWhere);
  const affected: unknown = await query.update({ [usedAt]: now });
  return affected === 1;
}
