// NS users of a virtual server: a free-form userid with name, email, groups and attributes. Groups and
// attributes are rows of their own so that list filters (`group=in:a,b`, `attr.k=v`) are index lookups on
// every database instead of JSON scans.
import type { Knex } from 'knex';
import { exactString, millis } from '../../auth-server/common/db/schema.js';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('ns_users', (t) => {
    exactString(knex, t, 'id', 32).primary();
    exactString(knex, t, 'server_id', 32)
      .notNullable()
      .references('id')
      .inTable('ns_virtual_servers')
      .onDelete('CASCADE');
    // Userids are case-sensitive and free-form (as in ns_accounts).
    exactString(knex, t, 'userid', 255).notNullable();
    t.string('name', 200).nullable();
    t.string('email', 254).nullable();
    millis(t, 'created_at').notNullable();
    millis(t, 'updated_at').notNullable();
    t.unique(['server_id', 'userid'], { indexName: 'ns_users_server_userid_uq' });
    // Keyset paging in creation order.
    t.index(['server_id', 'created_at', 'id'], 'ns_users_server_created_idx');
  });

  await knex.schema.createTable('ns_user_attributes', (t) => {
    exactString(knex, t, 'user_id', 32)
      .notNullable()
      .references('id')
      .inTable('ns_users')
      .onDelete('CASCADE');
    // Denormalised so that the filter index starts with the server.
    exactString(knex, t, 'server_id', 32).notNullable();
    exactString(knex, t, 'name', 64).notNullable();
    // 512 characters keeps (server_id, name, value) inside MySQL's 3072-byte index limit in utf8mb4.
    exactString(knex, t, 'value', 512).notNullable();
    t.primary(['user_id', 'name'], 'ns_user_attributes_pk');
    t.index(['server_id', 'name', 'value'], 'ns_user_attributes_filter_idx');
  });

  await knex.schema.createTable('ns_user_groups', (t) => {
    exactString(knex, t, 'user_id', 32)
      .notNullable()
      .references('id')
      .inTable('ns_users')
      .onDelete('CASCADE');
    exactString(knex, t, 'server_id', 32).notNullable();
    exactString(knex, t, 'group_name', 100).notNullable();
    t.primary(['user_id', 'group_name'], 'ns_user_groups_pk');
    t.index(['server_id', 'group_name'], 'ns_user_groups_filter_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('ns_user_groups');
  await knex.schema.dropTable('ns_user_attributes');
  await knex.schema.dropTable('ns_users');
}
