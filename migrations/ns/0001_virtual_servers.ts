// NS virtual servers: the tenant every account, session and API key belongs to.
import type { Knex } from 'knex';
import { exactString, millis } from '../../auth-server/common/db/schema.js';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('ns_virtual_servers', (t) => {
    exactString(knex, t, 'id', 32).primary();
    // A lowercase DNS-label slug (validated in the model), used in URLs: /oidc/{name}, /saml/{name}.
    t.string('name', 63).notNullable().unique();
    t.string('display_name', 200).notNullable();
    // JSON as text: portable, and the model validates it on every read with zod anyway.
    t.text('policy').notNullable();
    millis(t, 'created_at').notNullable();
    millis(t, 'updated_at').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('ns_virtual_servers');
}
