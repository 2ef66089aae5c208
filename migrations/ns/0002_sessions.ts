// NS sessions (nonces), their rotating login codes, and API keys; secrets are stored only as SHA-256 hashes.
import type { Knex } from 'knex';
import { exactString, millis } from '../../auth-server/common/db/schema.js';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('ns_sessions', (t) => {
    exactString(knex, t, 'id', 32).primary();
    exactString(knex, t, 'server_id', 32)
      .notNullable()
      .references('id')
      .inTable('ns_virtual_servers')
      .onDelete('CASCADE');
    // Hex SHA-256 of the nonce: a stolen database does not hand out live browser sessions.
    exactString(knex, t, 'nonce_hash', 64).notNullable().unique();
    // waiting | scanned | loggedin | declined | expired | loggedout (validated by the model).
    t.string('state', 16).notNullable();
    t.string('userid', 255).nullable();
    exactString(knex, t, 'account_id', 64).nullable();
    exactString(knex, t, 'hsid', 32).nullable();
    t.string('user_agent', 512).notNullable();
    t.string('ip', 64).notNullable();
    millis(t, 'created_at').notNullable();
    millis(t, 'expires_at').notNullable();
    millis(t, 'logged_in_at').nullable();
    millis(t, 'updated_at').notNullable();
    // Sweeps of finished sessions scan by expiry.
    t.index(['expires_at'], 'ns_sessions_expires_at_idx');
  });

  await knex.schema.createTable('ns_login_codes', (t) => {
    // Hex SHA-256 of the code shown in the QR; the code itself is never stored.
    exactString(knex, t, 'code_hash', 64).primary();
    exactString(knex, t, 'session_id', 32)
      .notNullable()
      .references('id')
      .inTable('ns_sessions')
      .onDelete('CASCADE');
    millis(t, 'created_at').notNullable();
    millis(t, 'expires_at').notNullable();
    millis(t, 'used_at').nullable();
    t.index(['session_id'], 'ns_login_codes_session_idx');
  });

  await knex.schema.createTable('ns_api_keys', (t) => {
    exactString(knex, t, 'id', 32).primary();
    // NULL: a root key (all servers); otherwise the key acts only on this virtual server.
    exactString(knex, t, 'server_id', 32)
      .nullable()
      .references('id')
      .inTable('ns_virtual_servers')
      .onDelete('CASCADE');
    t.string('name', 200).notNullable();
    exactString(knex, t, 'key_hash', 64).notNullable().unique();
    // JSON array of role names as text: portable, validated by the model on read.
    t.text('roles').notNullable();
    millis(t, 'created_at').notNullable();
    millis(t, 'revoked_at').nullable();
    t.index(['server_id'], 'ns_api_keys_server_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('ns_api_keys');
  await knex.schema.dropTable('ns_login_codes');
  await knex.schema.dropTable('ns_sessions');
}
