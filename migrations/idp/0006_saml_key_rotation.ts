// SAML key rotation: every key pair of a server's IdP gets its own row (server, use, kid) in a slot — `next`
// (published in the metadata before it signs), `current` (signs) or none (retired: still published for an
// overlap) — like the OIDC signing keys. The one key per (server, use) of 0003 moves over as `current`.
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { exactString, millis } from '../../auth-server/common/db/schema.js';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('idp_saml_key_ring', (t) => {
    // SHA-256 (hex) of the certificate's DER: the fingerprint an administrator compares with an SP's.
    exactString(knex, t, 'kid', 64).primary();
    exactString(knex, t, 'server', 63).notNullable();
    // 'signing' or 'encryption'.
    t.string('use', 16).notNullable();
    // 'current', 'next' or NULL (retired). The unique index lets concurrent first uses and rotations agree
    // on one key per slot (NULLs never collide).
    t.string('slot', 16).nullable();
    // PEM of the self-signed certificate.
    t.text('certificate').notNullable();
    // PKCS#8 PEM sealed with NEXTAUTH_SECRET_KEY, context-bound to server, use and kid (or, for a key moved
    // over from idp_saml_keys, to server and use as it was sealed there: `legacy_seal`).
    t.text('sealed_private_key').notNullable();
    t.boolean('legacy_seal').notNullable().defaultTo(false);
    millis(t, 'created_at').notNullable();
    millis(t, 'activated_at').nullable();
    millis(t, 'retired_at').nullable();
    t.unique(['server', 'use', 'slot'], { indexName: 'idp_saml_key_ring_slot_uq' });
    t.index(['server'], 'idp_saml_key_ring_server_idx');
  });

  const rows = (await knex('idp_saml_keys').select()) as {
    server: string;
    use: string;
    certificate: string;
    sealed_private_key: string;
    created_at: unknown;
  }[];
  for (const row of rows) {
    const der = Buffer.from(
      row.certificate.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, ''),
      'base64',
    );
    await knex('idp_saml_key_ring').insert({
      kid: createHash('sha256').update(der).digest('hex'),
      server: row.server,
      use: row.use,
      slot: 'current',
      certificate: row.certificate,
      sealed_private_key: row.sealed_private_key,
      legacy_seal: true,
      created_at: row.created_at,
      activated_at: row.created_at,
      retired_at: null,
    });
  }
  await knex.schema.dropTable('idp_saml_keys');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.createTable('idp_saml_keys', (t) => {
    exactString(knex, t, 'server', 63).notNullable();
    t.string('use', 16).notNullable();
    t.text('certificate').notNullable();
    t.text('sealed_private_key').notNullable();
    millis(t, 'created_at').notNullable();
    t.primary(['server', 'use']);
  });
  // Only keys still sealed the old way can go back; the others are made anew on first use.
  const rows = (await knex('idp_saml_key_ring').where({ slot: 'current', legacy_seal: true })) as {
    server: string;
    use: string;
    certificate: string;
    sealed_private_key: string;
    created_at: unknown;
  }[];
  for (const row of rows)
    await knex('idp_saml_keys').insert({
      server: row.server,
      use: row.use,
      certificate: row.certificate,
      sealed_private_key: row.sealed_private_key,
      created_at: row.created_at,
    });
  await knex.schema.dropTable('idp_saml_key_ring');
}
