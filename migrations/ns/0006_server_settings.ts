// Virtual server settings of the management API (logo, allowed apps) and who created each API key.
import type { Knex } from 'knex';
import { exactString } from '../../auth-server/common/db/schema.js';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('ns_virtual_servers', (t) => {
    // An https URL or a small data: image (capped in the model at 32 KiB, within MySQL's 64 KiB TEXT).
    t.text('logo').nullable();
    // JSON array of trusted SDK-configuration publishers {name, publisherKey}, validated by the model on read.
    t.text('allowed_apps').nullable();
  });
  await knex.schema.alterTable('ns_api_keys', (t) => {
    // Key id of the principal that created the key (`root` for the configured root key).
    exactString(knex, t, 'created_by', 32).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('ns_api_keys', (t) => {
    t.dropColumn('created_by');
  });
  await knex.schema.alterTable('ns_virtual_servers', (t) => {
    t.dropColumn('allowed_apps');
    t.dropColumn('logo');
  });
}
