// IdP-initiated front-channel single logout: the chain of LogoutRequests one browser is walked through
// after its IdP session ended, one SP at a time, each LogoutResponse matched to the request we sent.
import type { Knex } from 'knex';
import { exactString, millis } from '../../auth-server/common/db/schema.js';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('idp_saml_logouts', (t) => {
    // Random handle in the browser's URL of the chain (/saml/{server}/slo/next?c=...).
    exactString(knex, t, 'id', 43).primary();
    exactString(knex, t, 'server', 63).notNullable();
    // SPs still to tell, the request awaiting an answer, per-SP outcomes, where the browser goes last (JSON).
    t.text('state').notNullable();
    // The ID of the LogoutRequest awaiting its LogoutResponse (InResponseTo), null between hops.
    exactString(knex, t, 'awaiting_request_id', 64).nullable();
    // Bumped by every change: the conditional UPDATE on it lets exactly one of concurrent steps win.
    t.integer('step').notNullable();
    millis(t, 'created_at').notNullable();
    millis(t, 'expires_at').notNullable();
    t.index(['server', 'awaiting_request_id'], 'idp_saml_logouts_awaiting_idx');
    t.index(['expires_at'], 'idp_saml_logouts_expires_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('idp_saml_logouts');
}
