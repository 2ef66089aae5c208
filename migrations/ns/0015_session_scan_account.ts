// The account that scanned a login (so an SFS PIN lockout of that phone can end the browser's wait as
// `locked`), and how a login was confirmed (`pin` or `bio`, the attestation's method) for the IdP's `amr`.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('ns_sessions', (t) => {
    // Set by `login.scan` (NULL before it, and for sessions scanned before it was stored).
    t.string('scan_account_id', 64).nullable().index('ns_sessions_scan_account_idx');
    // NULL for sessions confirmed before it was stored (read as a PIN login) and until a login is confirmed.
    t.string('auth_method', 8).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('ns_sessions', (t) => {
    t.dropIndex(['scan_account_id'], 'ns_sessions_scan_account_idx');
    t.dropColumn('scan_account_id');
    t.dropColumn('auth_method');
  });
}
