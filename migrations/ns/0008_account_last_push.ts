// Account management over REST (issue #6): when the account last answered a push login, keyset paging of a
// server's accounts in creation order, and exact userid comparison on MySQL/MariaDB.
import type { Knex } from 'knex';
import { dialectOf } from '../../auth-server/common/db/connect.js';
import { millis } from '../../auth-server/common/db/schema.js';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('ns_accounts', (t) => {
    // Stays NULL until push login exists.
    millis(t, 'last_push_at').nullable();
    t.index(['server_id', 'created_at', 'id'], 'ns_accounts_server_created_idx');
  });
  // 0004 created `userid` with the default case-insensitive collation: there `?userid=alice` would list
  // Alice's phones too, and deleting alice's accounts would delete hers. Userids are case-sensitive
  // everywhere else (ns_users, the audit log); SQLite and PostgreSQL already compare exactly.
  if (dialectOf(knex) === 'mysql')
    await knex.raw('alter table ns_accounts modify userid varchar(255) collate utf8mb4_bin not null');
}

export async function down(knex: Knex): Promise<void> {
  if (dialectOf(knex) === 'mysql')
    await knex.raw('alter table ns_accounts modify userid varchar(255) not null');
  await knex.schema.alterTable('ns_accounts', (t) => {
    t.dropIndex(['server_id', 'created_at', 'id'], 'ns_accounts_server_created_idx');
    t.dropColumn('last_push_at');
  });
}
