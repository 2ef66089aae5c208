// One-time recovery codes of a user on a virtual server (issue #7): only an HMAC-SHA-256 of each code is
// stored, and using one is a guarded UPDATE of `used_at` (one winner across instances).
import type { Knex } from 'knex';
import { exactString, millis } from '../../auth-server/common/db/schema.js';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('ns_recovery_codes', (t) => {
    exactString(knex, t, 'id', 32).primary();
    exactString(knex, t, 'server_id', 32)
      .notNullable()
      .references('id')
      .inTable('ns_virtual_servers')
      .onDelete('CASCADE');
    exactString(knex, t, 'userid', 255).notNullable();
    // Hex HMAC-SHA-256 (key from NEXTAUTH_SECRET_KEY) over server, userid and code: a stolen database
    // alone cannot test guesses offline.
    exactString(knex, t, 'code_hash', 64).notNullable();
    millis(t, 'created_at').notNullable();
    millis(t, 'used_at').nullable();
    t.unique(['server_id', 'userid', 'code_hash'], { indexName: 'ns_recovery_codes_lookup_idx' });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('ns_recovery_codes');
}
