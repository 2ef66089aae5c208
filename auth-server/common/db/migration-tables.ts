// Creates a service's knex migrations and lock tables safely when several instances start at once.
import type { Knex } from 'knex';
import { isUniqueViolation } from './errors.js';

/**
 * knex creates these tables with check-then-create and inserts the lock row with check-then-insert, so
 * instances that start together on an empty database fail on "already exists", or worse leave two lock
 * rows, after which knex reports the table as locked forever. Creating them first, tolerating a
 * concurrent creator, and inserting the single lock row under a fixed primary key closes both races;
 * knex then finds everything in place. The column layout is knex's own.
 */
export async function ensureMigrationTables(knex: Knex, tableName: string): Promise<void> {
  await createIfMissing(knex, tableName, (t) => {
    t.increments();
    t.string('name');
    t.integer('batch');
    t.timestamp('migration_time');
  });
  const lockTable = `${tableName}_lock`;
  await createIfMissing(knex, lockTable, (t) => {
    t.increments('index').primary();
    t.integer('is_locked');
  });
  const existing = await knex(lockTable).first('index');
  if (existing) return;
  try {
    await knex(lockTable).insert({ index: 1, is_locked: 0 });
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
  }
}

async function createIfMissing(
  knex: Knex,
  table: string,
  build: (t: Knex.CreateTableBuilder) => void,
): Promise<void> {
  if (await knex.schema.hasTable(table)) return;
  try {
    await knex.schema.createTable(table, build);
  } catch (err) {
    // PostgreSQL reports a concurrent CREATE as a catalog unique violation, the others as "already exists".
    if (!(await knex.schema.hasTable(table))) throw err;
  }
}
