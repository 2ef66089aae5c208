// The OIDC front door: oidc-provider's stored models, signing keys and clients per virtual server, and the
// one-time use of NS login results by the interaction.
import type { Knex } from 'knex';
import { dialectOf } from '../../auth-server/common/db/connect.js';
import { exactString, millis } from '../../auth-server/common/db/schema.js';

export async function up(knex: Knex): Promise<void> {
  // What oidc-provider's adapter stores (idp/oidc/adapter.ts): one row per (server, model, id).
  await knex.schema.createTable('idp_oidc_payloads', (t) => {
    // NS virtual server name: one provider per server, and a row of one server is never found by another.
    exactString(knex, t, 'server', 63).notNullable();
    // oidc-provider model name (AuthorizationCode, Session, Grant, ...).
    t.string('model', 40).notNullable();
    exactString(knex, t, 'id', 255).notNullable();
    // The model's JSON payload; MEDIUMTEXT on MySQL, where TEXT stops at 64 KiB.
    if (dialectOf(knex) === 'mysql') t.text('payload', 'mediumtext').notNullable();
    else t.text('payload').notNullable();
    exactString(knex, t, 'grant_id', 255).nullable();
    exactString(knex, t, 'uid', 255).nullable();
    exactString(knex, t, 'user_code', 255).nullable();
    millis(t, 'expires_at').nullable();
    // Set once by the conditional UPDATE of `consume`: the caller that set it won (DESIGN.md §6).
    millis(t, 'consumed_at').nullable();
    t.primary(['server', 'model', 'id']);
    t.index(['server', 'grant_id'], 'idp_oidc_payloads_grant_idx');
    t.index(['server', 'model', 'uid'], 'idp_oidc_payloads_uid_idx');
    t.index(['server', 'model', 'user_code'], 'idp_oidc_payloads_user_code_idx');
    t.index(['expires_at'], 'idp_oidc_payloads_expires_idx');
  });

  await knex.schema.createTable('idp_oidc_signing_keys', (t) => {
    // RFC 7638 thumbprint of the public key: the JWS `kid`.
    exactString(knex, t, 'kid', 64).primary();
    exactString(knex, t, 'server', 63).notNullable();
    // ES256 or RS256.
    t.string('alg', 10).notNullable();
    // 'current' (signs), 'next' (published, signs after the next rotation) or NULL (retired, verifies
    // only). The unique index lets concurrent first starts and rotations agree (NULLs never collide).
    t.string('slot', 16).nullable();
    t.text('public_jwk').notNullable();
    // The private JWK sealed with NEXTAUTH_SECRET_KEY, context-bound to server and kid.
    t.text('sealed_private_jwk').notNullable();
    millis(t, 'created_at').notNullable();
    millis(t, 'activated_at').nullable();
    millis(t, 'retired_at').nullable();
    t.unique(['server', 'alg', 'slot'], { indexName: 'idp_oidc_signing_keys_slot_uq' });
    t.index(['server'], 'idp_oidc_signing_keys_server_idx');
  });

  await knex.schema.createTable('idp_oidc_clients', (t) => {
    exactString(knex, t, 'server', 63).notNullable();
    exactString(knex, t, 'client_id', 255).notNullable();
    // Client metadata (RFC 7591 names) as JSON text, without the secret.
    t.text('metadata').notNullable();
    // The client secret sealed with NEXTAUTH_SECRET_KEY; NULL for public clients.
    t.text('sealed_secret').nullable();
    millis(t, 'created_at').notNullable();
    millis(t, 'updated_at').notNullable();
    t.primary(['server', 'client_id']);
  });

  await knex.schema.createTable('idp_ns_login_claims', (t) => {
    // The NS login's random handle (`hsid`): inserted once, so one NS login makes at most one IdP login.
    exactString(knex, t, 'hsid', 64).primary();
    exactString(knex, t, 'server', 63).notNullable();
    millis(t, 'claimed_at').notNullable();
    // When the NS session itself ends; a sweep may delete rows after it.
    millis(t, 'expires_at').notNullable();
    t.index(['expires_at'], 'idp_ns_login_claims_expires_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('idp_ns_login_claims');
  await knex.schema.dropTable('idp_oidc_clients');
  await knex.schema.dropTable('idp_oidc_signing_keys');
  await knex.schema.dropTable('idp_oidc_payloads');
}
