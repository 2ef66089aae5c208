// SFS core: app instances with their PIN verifier, NS servers with lockout policy, attempt state, signing keys.
import type { Knex } from 'knex';
import { exactString, millis } from '../../auth-server/common/db/schema.js';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('sfs_app_instances', (t) => {
    exactString(knex, t, 'id', 32).primary();
    // The instance's P-256 public key as a JWK (kty, crv, x, y only), JSON as text.
    t.text('public_jwk').notNullable();
    // RFC 7638 thumbprint: how the secure channel's authenticated peer key finds its instance.
    exactString(knex, t, 'key_thumbprint', 64).notNullable().unique();
    // Hex HMAC-SHA-256(pepper, instance id ‖ PIN proof), NULL until a PIN is set (DESIGN.md §6).
    exactString(knex, t, 'pin_verifier', 64).nullable();
    millis(t, 'pin_set_at').nullable();
    // Consecutive wrong PINs across every NS server since the last right one: the instance-wide ceiling.
    t.integer('failed_attempts').notNullable().defaultTo(0);
    millis(t, 'blocked_at').nullable();
    millis(t, 'created_at').notNullable();
    millis(t, 'updated_at').notNullable();
  });

  await knex.schema.createTable('sfs_ns_servers', (t) => {
    // The NS virtual server's id as NS names it; it is the `aud` of the attestations issued for it.
    exactString(knex, t, 'id', 200).primary();
    // The NS server's public key (JWK as text) and thumbprint, when known: who may ask on its behalf.
    t.text('public_jwk').nullable();
    exactString(knex, t, 'key_thumbprint', 64).nullable().unique();
    // Lockout policy as JSON text, validated by the model on every read.
    t.text('policy').notNullable();
    millis(t, 'created_at').notNullable();
    millis(t, 'updated_at').notNullable();
  });

  await knex.schema.createTable('sfs_pin_attempts', (t) => {
    exactString(knex, t, 'instance_id', 32)
      .notNullable()
      .references('id')
      .inTable('sfs_app_instances')
      .onDelete('CASCADE');
    exactString(knex, t, 'server_id', 200)
      .notNullable()
      .references('id')
      .inTable('sfs_ns_servers')
      .onDelete('CASCADE');
    // Wrong PINs since the last lockout or right PIN.
    t.integer('failed_attempts').notNullable().defaultTo(0);
    // Lockouts since the last right PIN: the penalty level that doubles the next lock.
    t.integer('lockouts').notNullable().defaultTo(0);
    millis(t, 'locked_until').nullable();
    millis(t, 'blocked_at').nullable();
    millis(t, 'updated_at').notNullable();
    t.primary(['instance_id', 'server_id']);
    t.index(['server_id'], 'sfs_pin_attempts_server_idx');
  });

  await knex.schema.createTable('sfs_signing_keys', (t) => {
    // RFC 7638 thumbprint of the public key: the JWS `kid`.
    exactString(knex, t, 'kid', 64).primary();
    t.text('public_jwk').notNullable();
    // The private JWK sealed with NEXTAUTH_SECRET_KEY (auth-server/common/crypto/secret-box.ts).
    t.text('sealed_private_jwk').notNullable();
    // 'signing' on the one key that signs now, NULL once retired: the unique index makes concurrent
    // first starts agree on one key (NULLs do not collide on any of the three databases).
    t.string('active_slot', 16).nullable().unique();
    millis(t, 'created_at').notNullable();
    millis(t, 'retired_at').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('sfs_signing_keys');
  await knex.schema.dropTable('sfs_pin_attempts');
  await knex.schema.dropTable('sfs_ns_servers');
  await knex.schema.dropTable('sfs_app_instances');
}
