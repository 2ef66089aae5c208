// The IdP session (DESIGN.md §4 Front doors): one per browser and virtual server, made from an NS login and
// shared by OIDC, SAML and forward-auth; its participants are what must hear when it ends.
import type { Knex } from 'knex';
import { exactString, millis } from '../../auth-server/common/db/schema.js';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('idp_sessions', (t) => {
    // Random opaque id, never the cookie value.
    exactString(knex, t, 'id', 64).primary();
    exactString(knex, t, 'server', 63).notNullable();
    // SHA-256 (hex) of the cookie's random secret: a stolen database does not yield live cookies.
    exactString(knex, t, 'secret_hash', 64).notNullable();
    exactString(knex, t, 'userid', 255).notNullable();
    exactString(knex, t, 'account_id', 255).notNullable();
    // JSON array of RFC 8176 values.
    t.string('amr', 255).notNullable();
    t.string('acr', 255).notNullable();
    // Epoch milliseconds, like every other timestamp column.
    millis(t, 'auth_time').notNullable();
    millis(t, 'created_at').notNullable();
    millis(t, 'last_seen_at').notNullable();
    millis(t, 'idle_expires_at').notNullable();
    millis(t, 'absolute_expires_at').notNullable();
    // Set once by the conditional UPDATE of `end`: the caller that set it runs the end handlers.
    millis(t, 'ended_at').nullable();
    t.string('end_cause', 32).nullable();
    t.unique(['secret_hash'], { indexName: 'idp_sessions_secret_uq' });
    t.index(['server', 'userid'], 'idp_sessions_user_idx');
    t.index(['absolute_expires_at'], 'idp_sessions_expires_idx');
  });

  await knex.schema.createTable('idp_session_participants', (t) => {
    exactString(knex, t, 'session_id', 64).notNullable();
    // SHA-256 (hex) of what identifies the participant (OIDC session uid; SAML SP and session index): the
    // SAML parts may be long, the key stays short enough for every database's index.
    exactString(knex, t, 'participant_key', 64).notNullable();
    t.string('protocol', 16).notNullable();
    t.text('data').notNullable();
    millis(t, 'created_at').notNullable();
    t.primary(['session_id', 'participant_key']);
    // The session an OIDC session belongs to, found at its RP-initiated logout.
    t.index(['participant_key'], 'idp_session_participants_key_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('idp_session_participants');
  await knex.schema.dropTable('idp_sessions');
}
