// Biometric keys of app instances (ADD_BIOMETRICS): one public key per instance and its one-time nonce.
import type { Knex } from 'knex';
import { exactString, millis } from '../../auth-server/common/db/schema.js';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('sfs_bio_keys', (t) => {
    // One biometric key per app instance: a new registration replaces it.
    exactString(knex, t, 'instance_id', 32)
      .primary()
      .references('id')
      .inTable('sfs_app_instances')
      .onDelete('CASCADE');
    // The P-256 public key as a JWK (kty, crv, x, y only), JSON as text.
    t.text('public_jwk').notNullable();
    exactString(knex, t, 'key_thumbprint', 64).notNullable();
    // The nonce of the next bio attestation (base64url of 32 bytes), consumed by a guarded UPDATE.
    exactString(knex, t, 'nonce', 43).nullable();
    millis(t, 'nonce_expires_at').nullable();
    millis(t, 'created_at').notNullable();
    millis(t, 'updated_at').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('sfs_bio_keys');
}
