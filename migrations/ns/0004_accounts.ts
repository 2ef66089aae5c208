// NS accounts (a user's phone key on a virtual server) and the one-time enrol tokens that create them.
import type { Knex } from 'knex';
import { exactString, millis } from '../../auth-server/common/db/schema.js';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('ns_accounts', (t) => {
    exactString(knex, t, 'id', 32).primary();
    exactString(knex, t, 'server_id', 32)
      .notNullable()
      .references('id')
      .inTable('ns_virtual_servers')
      .onDelete('CASCADE');
    t.string('userid', 255).notNullable();
    // The account's P-256 public key as JWK text; the model validates it on read.
    t.text('public_jwk').notNullable();
    // RFC 7638 thumbprint: how the login channel's client key finds its account.
    exactString(knex, t, 'key_thumbprint', 43).notNullable();
    // The attestation `sub` (SFS app instance) the account was enrolled with; logins must come from it.
    exactString(knex, t, 'app_instance_id', 64).notNullable();
    t.string('sfs_issuer', 300).notNullable();
    t.string('description', 100).nullable();
    t.string('client_version', 40).nullable();
    millis(t, 'created_at').notNullable();
    millis(t, 'last_login_at').nullable();
    millis(t, 'blocked_at').nullable();
    t.unique(['server_id', 'key_thumbprint'], { indexName: 'ns_accounts_server_key_uq' });
    t.index(['server_id', 'userid'], 'ns_accounts_server_user_idx');
  });

  await knex.schema.createTable('ns_enrol_tokens', (t) => {
    // Hex SHA-256 of the token in the enrol URI; the token itself is never stored.
    exactString(knex, t, 'token_hash', 64).primary();
    exactString(knex, t, 'server_id', 32)
      .notNullable()
      .references('id')
      .inTable('ns_virtual_servers')
      .onDelete('CASCADE');
    t.string('userid', 255).notNullable();
    millis(t, 'created_at').notNullable();
    millis(t, 'expires_at').notNullable();
    millis(t, 'used_at').nullable();
    t.index(['expires_at'], 'ns_enrol_tokens_expires_at_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('ns_enrol_tokens');
  await knex.schema.dropTable('ns_accounts');
}
