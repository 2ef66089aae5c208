// Column helpers for migrations, where the three dialects need different spellings of the same intent.
import type { Knex } from 'knex';
import { dialectOf } from './connect.js';

/**
 * A string column compared byte for byte. MySQL/MariaDB collations are case-insensitive by default, so a
 * random base64url id or token would match its upper-/lower-case variants there; SQLite and PostgreSQL
 * already compare exactly.
 */
export function exactString(knex: Knex, table: Knex.CreateTableBuilder, name: string, length: number) {
  const column = table.string(name, length);
  return dialectOf(knex) === 'mysql' ? column.collate('utf8mb4_bin') : column;
}

/** Epoch-milliseconds timestamp column (see timestamps.ts for why not a native time type). */
export function millis(table: Knex.CreateTableBuilder, name: string) {
  return table.bigInteger(name);
}
