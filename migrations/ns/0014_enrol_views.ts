// The enrol page (`/enrol/{server}#t=…`): a view of one enrol token, opened with a random view token that is
// stored only as its SHA-256, and bound to the first browser that opens it. `ns_enrol_tokens.account_id`
// records which account a used token created, so the page can show the device it enrolled.
import type { Knex } from 'knex';
import { exactString, millis } from '../../auth-server/common/db/schema.js';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('ns_enrol_views', (t) => {
    // Hex SHA-256 of the view token in the page URL's fragment; the token itself is never stored.
    exactString(knex, t, 'view_hash', 64).primary();
    // One view per enrol token; the view goes with its token (the expired-row sweep deletes tokens).
    exactString(knex, t, 'token_hash', 64)
      .notNullable()
      .unique({ indexName: 'ns_enrol_views_token_uq' })
      .references('token_hash')
      .inTable('ns_enrol_tokens')
      .onDelete('CASCADE');
    exactString(knex, t, 'server_id', 32)
      .notNullable()
      .references('id')
      .inTable('ns_virtual_servers')
      .onDelete('CASCADE');
    // The enrol URI, AES-256-GCM under a key derived from the view token: the database alone cannot show it.
    t.text('sealed_uri').notNullable();
    // Hex SHA-256 of the browser secret (an httpOnly cookie) of the browser that opened the view first.
    exactString(knex, t, 'claim_hash', 64).nullable().unique({ indexName: 'ns_enrol_views_claim_uq' });
    millis(t, 'created_at').notNullable();
    millis(t, 'expires_at').notNullable();
  });
  await knex.schema.alterTable('ns_enrol_tokens', (t) => {
    t.string('account_id', 32).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('ns_enrol_tokens', (t) => {
    t.dropColumn('account_id');
  });
  await knex.schema.dropTable('ns_enrol_views');
}
