// NS audit log: append-only security events (who, what, to whom, from where, when), indexed for the filters
// of GET /ns/api/v2/audit. No foreign keys: the log outlives the servers, keys and accounts it names.
import type { Knex } from 'knex';
import { dialectOf } from '../../auth-server/common/db/connect.js';
import { exactString, millis } from '../../auth-server/common/db/schema.js';

const table = 'ns_audit_events';
const refusal = 'ns_audit_events is append-only';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable(table, (t) => {
    // 32 hex characters: ordered the same way under every collation (it breaks ties of the keyset order).
    exactString(knex, t, 'id', 32).primary();
    millis(t, 'occurred_at').notNullable();
    // Id and name of the virtual server at the time (both NULL for NS-wide events).
    exactString(knex, t, 'server_id', 32).nullable();
    t.string('server_name', 63).nullable();
    t.string('type', 48).notNullable();
    t.string('actor_kind', 16).notNullable();
    // Userids are case-sensitive: exact comparison on MariaDB too.
    exactString(knex, t, 'actor_id', 255).notNullable();
    t.string('subject_kind', 16).notNullable();
    exactString(knex, t, 'subject_id', 255).notNullable();
    t.string('ip', 64).nullable();
    t.string('user_agent', 512).nullable();
    // Flat JSON object of ids and fingerprints, validated by the model on write and read.
    t.text('details').notNullable();
    // Every filter ends in (occurred_at, id), the keyset order, so a filtered page is an index range.
    t.index(['occurred_at', 'id'], 'ns_audit_time_idx');
    t.index(['server_id', 'occurred_at', 'id'], 'ns_audit_server_idx');
    t.index(['server_name', 'occurred_at', 'id'], 'ns_audit_server_name_idx');
    t.index(['type', 'occurred_at', 'id'], 'ns_audit_type_idx');
    t.index(['actor_kind', 'actor_id', 'occurred_at', 'id'], 'ns_audit_actor_idx');
    t.index(['subject_kind', 'subject_id', 'occurred_at', 'id'], 'ns_audit_subject_idx');
  });

  // Append-only in storage too, where it costs nothing: a bug or an injected statement elsewhere cannot
  // rewrite history. MySQL/MariaDB get no trigger: with binary logging on (any replicated set-up) creating
  // one needs SUPER; there, deny UPDATE and DELETE on this table to the application user (docs/decisions.md).
  const dialect = dialectOf(knex);
  if (dialect === 'sqlite') {
    for (const op of ['update', 'delete']) {
      await knex.raw(
        `create trigger ${table}_no_${op} before ${op} on ${table} begin select raise(abort, '${refusal}'); end`,
      );
    }
  } else if (dialect === 'postgres') {
    await knex.raw(
      `create function ${table}_append_only() returns trigger language plpgsql as $$ begin raise exception '${refusal}' using errcode = 'insufficient_privilege'; end $$`,
    );
    await knex.raw(
      `create trigger ${table}_no_change before update or delete on ${table} for each row execute function ${table}_append_only()`,
    );
    await knex.raw(
      `create trigger ${table}_no_truncate before truncate on ${table} for each statement execute function ${table}_append_only()`,
    );
  }
}

export async function down(knex: Knex): Promise<void> {
  // Dropping the table drops its triggers.
  await knex.schema.dropTable(table);
  if (dialectOf(knex) === 'postgres') await knex.raw(`drop function if exists ${table}_append_only()`);
}
