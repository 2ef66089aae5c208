// MC core: app instances (key, encryption key, push registration), the sealed mailbox, the channel identity key.
import type { Knex } from 'knex';
import { exactString, millis } from '../../auth-server/common/db/schema.js';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('mc_app_instances', (t) => {
    exactString(knex, t, 'id', 32).primary();
    // The app-instance key that authenticates the channel (P-256 JWK as text) and its RFC 7638 thumbprint.
    t.text('public_jwk').notNullable();
    exactString(knex, t, 'key_thumbprint', 64).notNullable().unique();
    // The ECDH P-256 key messages are sealed for (JWK as text): the private half never leaves the device.
    t.text('encryption_jwk').notNullable();
    // fcm | apns | none; the token sealed with NEXTAUTH_SECRET_KEY (it is a device secret), NULL for none.
    t.string('push_provider', 8).notNullable();
    t.text('sealed_push_token').nullable();
    // Per-instance override of the pending-message limit; NULL: the service default.
    t.integer('max_pending').nullable();
    millis(t, 'created_at').notNullable();
    millis(t, 'updated_at').notNullable();
  });

  await knex.schema.createTable('mc_messages', (t) => {
    // Mailbox order and the pull cursor: increasing per insert on every database.
    t.bigIncrements('seq').primary();
    // Chosen by the sender and bound into the ciphertext's AAD (protocol/mobile/mc-seal.ts).
    exactString(knex, t, 'id', 22).notNullable().unique();
    exactString(knex, t, 'instance_id', 32)
      .notNullable()
      .references('id')
      .inTable('mc_app_instances')
      .onDelete('CASCADE');
    // The sealed message exactly as posted: MC cannot read it.
    t.text('sealed').notNullable();
    // A newer message with the same collapse id replaces an unacknowledged older one.
    t.string('collapse_id', 64).nullable();
    millis(t, 'created_at').notNullable();
    millis(t, 'expires_at').notNullable();
    // First handed to the device (pull or subscription); acknowledged by it. Both NULL until then.
    millis(t, 'delivered_at').nullable();
    millis(t, 'acked_at').nullable();
    t.index(['instance_id', 'seq'], 'mc_messages_instance_idx');
    t.index(['expires_at'], 'mc_messages_expires_idx');
  });

  await knex.schema.createTable('mc_identity_keys', (t) => {
    // RFC 7638 thumbprint of the MC's channel key (the key the SDK configuration carries).
    exactString(knex, t, 'kid', 64).primary();
    t.text('public_jwk').notNullable();
    // The private JWK sealed with NEXTAUTH_SECRET_KEY (auth-server/common/crypto/secret-box.ts).
    t.text('sealed_private_jwk').notNullable();
    // 'channel' on the key in use, NULL once retired: concurrent first starts agree on one key.
    t.string('active_slot', 16).nullable().unique();
    millis(t, 'created_at').notNullable();
    millis(t, 'retired_at').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('mc_identity_keys');
  await knex.schema.dropTable('mc_messages');
  await knex.schema.dropTable('mc_app_instances');
}
