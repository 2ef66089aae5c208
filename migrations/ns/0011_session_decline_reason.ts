// Why the phone declined a login (`declined` or `not_me`), so the login page can tell "declined" from "this
// was not me" after a reload or on another instance, not only from the bus message.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('ns_sessions', (t) => {
    t.string('decline_reason', 16).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('ns_sessions', (t) => {
    t.dropColumn('decline_reason');
  });
}
