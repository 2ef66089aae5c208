// Transaction signing (issue #11): transactions to sign with their evidence (signature, attestation,
// receipt), and the transaction types a server registered with a display template per locale. The built-in
// `payment` type lives in code, not here.
import type { Knex } from 'knex';
import { exactString, millis } from '../../auth-server/common/db/schema.js';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('ns_transaction_types', (t) => {
    t.string('server_id', 64).notNullable();
    t.string('name', 64).notNullable();
    // JSON {locale: template text}.
    t.text('templates').notNullable();
    millis(t, 'created_at').notNullable();
    millis(t, 'updated_at').notNullable();
    t.primary(['server_id', 'name']);
  });
  await knex.schema.createTable('ns_transactions', (t) => {
    // Also the MC message id of its delivery.
    exactString(knex, t, 'id', 22).primary();
    t.string('server_id', 64).notNullable();
    t.string('userid', 255).notNullable();
    // Set when it was created for one account; NULL: any active account of the user may answer.
    exactString(knex, t, 'account_id', 64).nullable();
    t.string('type', 64).notNullable();
    t.string('locale', 16).notNullable();
    // JSON of the signed data (protocol/mobile/transaction.ts) and the template text it names.
    t.text('signed_data', 'mediumtext').notNullable();
    t.text('template').notNullable();
    // JSON of the RFC 9396 object it was created from (NULL for the nextAuth REST shape).
    t.text('authorization_details').nullable();
    millis(t, 'created_at').notNullable();
    millis(t, 'expires_at').notNullable();
    // Set once by the one answer that wins (consumeOnce).
    millis(t, 'used_at').nullable();
    // `approved` | `declined` (NULL while new; new past expires_at reads as expired).
    t.string('status', 16).nullable();
    exactString(knex, t, 'answered_by', 64).nullable();
    // JSON of the signed receipt (approved only).
    t.text('receipt', 'mediumtext').nullable();
    t.index(['server_id', 'userid'], 'ns_transactions_user_idx');
    t.index(['expires_at'], 'ns_transactions_expiry_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('ns_transactions');
  await knex.schema.dropTable('ns_transaction_types');
}
