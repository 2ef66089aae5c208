// The P-256 identity key of each NS virtual server (the secure-channel server key phones pin at enrolment).
import type { Knex } from 'knex';
import { exactString, millis } from '../../auth-server/common/db/schema.js';

export async function up(knex: Knex): Promise<void> {
  // Nullable: the migration has no NEXTAUTH_SECRET_KEY to seal with, so existing rows get their key lazily
  // (auth-server/ns/servers/identity.ts), by a conditional UPDATE that exactly one instance wins.
  await knex.schema.alterTable('ns_virtual_servers', (t) => {
    t.text('identity_public_jwk').nullable();
    // secret-box sealed private JWK, context-bound to the server id: not movable to another row.
    t.text('identity_private_key').nullable();
    // RFC 7638 thumbprint of the public key: the `fp` of enrol URIs.
    exactString(knex, t, 'identity_thumbprint', 43).nullable();
    millis(t, 'identity_created_at').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('ns_virtual_servers', (t) => {
    t.dropColumn('identity_created_at');
    t.dropColumn('identity_thumbprint');
    t.dropColumn('identity_private_key');
    t.dropColumn('identity_public_jwk');
  });
}
