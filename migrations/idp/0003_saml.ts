// The SAML front door: each virtual server's IdP keys, the SPs registered from their metadata, the
// AuthnRequest IDs already used (replay), and the SSO requests waiting for a QR login.
import type { Knex } from 'knex';
import { dialectOf } from '../../auth-server/common/db/connect.js';
import { exactString, millis } from '../../auth-server/common/db/schema.js';

const longText = (knex: Knex, t: Knex.CreateTableBuilder, name: string) =>
  // MEDIUMTEXT on MySQL, where TEXT stops at 64 KiB (SP metadata, a signed Response).
  dialectOf(knex) === 'mysql' ? t.text(name, 'mediumtext') : t.text(name);

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('idp_saml_keys', (t) => {
    exactString(knex, t, 'server', 63).notNullable();
    // 'signing' or 'encryption': one key pair each, published in the IdP metadata.
    t.string('use', 16).notNullable();
    // PEM of the self-signed certificate.
    t.text('certificate').notNullable();
    // PKCS#8 PEM sealed with NEXTAUTH_SECRET_KEY, context-bound to server and use.
    t.text('sealed_private_key').notNullable();
    millis(t, 'created_at').notNullable();
    // Concurrent first starts of many instances agree on one key.
    t.primary(['server', 'use']);
  });

  await knex.schema.createTable('idp_saml_sps', (t) => {
    exactString(knex, t, 'server', 63).notNullable();
    // At most 255 characters are accepted (idp/saml/sp-metadata.ts); the column leaves room.
    exactString(knex, t, 'entity_id', 512).notNullable();
    // The SP's metadata as registered: ACS URLs, certificates, AuthnRequestsSigned.
    longText(knex, t, 'metadata').notNullable();
    // Our settings for it (JSON): what to sign, whether to encrypt, the attribute mapping.
    t.text('settings').notNullable();
    millis(t, 'created_at').notNullable();
    millis(t, 'updated_at').notNullable();
    t.primary(['server', 'entity_id']);
  });

  await knex.schema.createTable('idp_saml_request_ids', (t) => {
    exactString(knex, t, 'server', 63).notNullable();
    // SHA-256 (hex) of the SP's entity ID: IDs are the SP's own, unique per issuer.
    exactString(knex, t, 'sp_hash', 64).notNullable();
    exactString(knex, t, 'request_id', 256).notNullable();
    millis(t, 'used_at').notNullable();
    // After the accepted IssueInstant window a replay fails on time anyway: the sweep may delete the row.
    millis(t, 'expires_at').notNullable();
    // The insert is the atomic consume (DESIGN.md §6): of concurrent requests with one ID exactly one wins.
    t.primary(['server', 'sp_hash', 'request_id']);
    t.index(['expires_at'], 'idp_saml_request_ids_expires_idx');
  });

  await knex.schema.createTable('idp_saml_pending', (t) => {
    // Random handle in the login page's URL.
    exactString(knex, t, 'id', 43).primary();
    exactString(knex, t, 'server', 63).notNullable();
    exactString(knex, t, 'sp_entity_id', 512).notNullable();
    // What the Response must answer (JSON): request ID, ACS, RelayState, NameID policy, ForceAuthn.
    t.text('request').notNullable();
    millis(t, 'created_at').notNullable();
    millis(t, 'expires_at').notNullable();
    // Set once by the conditional UPDATE of `complete`: of concurrent completions exactly one wins.
    millis(t, 'completed_at').nullable();
    // The IdP session the Response was made for: only its browser may collect it.
    exactString(knex, t, 'session_id', 128).nullable();
    // The signed (and maybe encrypted) Response, base64, until the browser collected it.
    longText(knex, t, 'response').nullable();
    millis(t, 'delivered_at').nullable();
    t.index(['expires_at'], 'idp_saml_pending_expires_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('idp_saml_pending');
  await knex.schema.dropTable('idp_saml_request_ids');
  await knex.schema.dropTable('idp_saml_sps');
  await knex.schema.dropTable('idp_saml_keys');
}
