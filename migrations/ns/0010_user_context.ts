// Integrator text shown on the phone: `session_info` for a login (nextAuth sessioninfo), `announce_info`
// for an enrolment, which the app keeps with the account it creates (nextAuth announceinfo). Plain text, at most 200 characters.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('ns_sessions', (t) => {
    t.string('session_info', 200).nullable();
  });
  await knex.schema.alterTable('ns_enrol_tokens', (t) => {
    t.string('announce_info', 200).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('ns_enrol_tokens', (t) => {
    t.dropColumn('announce_info');
  });
  await knex.schema.alterTable('ns_sessions', (t) => {
    t.dropColumn('session_info');
  });
}
