// Per-server look and recovery policy (issue #7): accent colours for light and dark pages, the app's https
// link (universal link / App Link) for app-to-app login, and whether users may hold recovery codes.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('ns_virtual_servers', (t) => {
    // `#rrggbb`, contrast-checked by the model on write; NULL: the page's own colour.
    t.string('accent_light', 7).nullable();
    t.string('accent_dark', 7).nullable();
    // An https URL (checked by the model); NULL: the `nextauth://` scheme is the one form.
    t.string('app_link', 2048).nullable();
    // Off by default: codes are a second way in, so a server opts in.
    t.boolean('recovery_codes').notNullable().defaultTo(false);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('ns_virtual_servers', (t) => {
    t.dropColumn('recovery_codes');
    t.dropColumn('app_link');
    t.dropColumn('accent_dark');
    t.dropColumn('accent_light');
  });
}
