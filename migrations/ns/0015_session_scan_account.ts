// How a login was confirmed on the phone (`pin` or `bio`, the SFS attestation's method), so the IdP can say it
// in `amr`. Named for the account-at-scan column of the login page's `locked` state planned next to it.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('ns_sessions', (t) => {
    // NULL for sessions confirmed before it was stored (read as a PIN login) and until a login is confirmed.
    t.string('auth_method', 8).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('ns_sessions', (t) => {
    t.dropColumn('auth_method');
  });
}
