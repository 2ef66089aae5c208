// Push login (issue #10): the open push requests (one-time, number matched), where an account's pushes go
// (the app instance key it registers at the MC) and until when pushes to it are blocked after "not me".
// The push policy itself lives in the server's policy JSON (defaults apply to rows written before).
import type { Knex } from 'knex';
import { exactString, millis } from '../../auth-server/common/db/schema.js';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('ns_push_requests', (t) => {
    // Also the MC message id (the sealed header binds it).
    exactString(knex, t, 'id', 22).primary();
    t.string('server_id', 64).notNullable();
    exactString(knex, t, 'session_id', 64).notNullable();
    exactString(knex, t, 'account_id', 64).notNullable();
    // SHA-256 hex of the one-time code the message carries; never the code.
    t.string('code_hash', 64).notNullable();
    t.integer('match_number').notNullable();
    millis(t, 'created_at').notNullable();
    millis(t, 'expires_at').notNullable();
    millis(t, 'used_at').nullable();
    // `opened`, `wrong_match`, `undeliverable` (NULL while open).
    t.string('outcome', 16).nullable();
    t.index(['account_id', 'expires_at'], 'ns_push_requests_account_idx');
    t.index(['expires_at'], 'ns_push_requests_expiry_idx');
  });
  await knex.schema.alterTable('ns_accounts', (t) => {
    // RFC 7638 thumbprint of the app-instance key, as the app sent it at enrolment or login.
    t.string('push_key_thumbprint', 43).nullable();
    millis(t, 'push_blocked_until').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('ns_accounts', (t) => {
    t.dropColumn('push_key_thumbprint');
    t.dropColumn('push_blocked_until');
  });
  await knex.schema.dropTable('ns_push_requests');
}
