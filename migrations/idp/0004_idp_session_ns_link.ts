// An IdP session remembers the NS login session it was made from, so that NS's events end it (DESIGN.md §4):
// an NS logout of that session (`ns_logout`), or the deletion of the account that confirmed it
// (`account_removed`, found by `account_id`).
import type { Knex } from 'knex';
import { exactString } from '../../auth-server/common/db/schema.js';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('idp_sessions', (t) => {
    // Null for sessions made before this migration, or from a login that did not name it.
    exactString(knex, t, 'ns_session_id', 255).nullable();
    t.index(['server', 'ns_session_id'], 'idp_sessions_ns_session_idx');
    t.index(['server', 'account_id'], 'idp_sessions_account_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('idp_sessions', (t) => {
    t.dropIndex(['server', 'account_id'], 'idp_sessions_account_idx');
    t.dropIndex(['server', 'ns_session_id'], 'idp_sessions_ns_session_idx');
    t.dropColumn('ns_session_id');
  });
}
