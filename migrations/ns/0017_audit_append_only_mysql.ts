// NS audit log, append-only on MySQL/MariaDB too where the database lets a migration say so: 0005 gave SQLite
// and PostgreSQL triggers that refuse UPDATE and DELETE; MySQL/MariaDB got none because with binary logging
// on, CREATE TRIGGER needs SUPER (or log_bin_trust_function_creators), which a migration must not demand.
// So try, and where the server refuses for that reason (or the user lacks the TRIGGER privilege) leave it
// to the grants (INSERT, SELECT only on this table), as docs/decisions.md says. TRUNCATE fires no trigger
// on MySQL/MariaDB; only the grants stop it.
import type { Knex } from 'knex';
import { dialectOf } from '../../auth-server/common/db/connect.js';

const table = 'ns_audit_events';
const refusal = 'ns_audit_events is append-only';

/** Refusals of CREATE TRIGGER for want of privileges: binary logging without SUPER, no TRIGGER grant. */
const notPermitted = new Set([
  1419, // ER_BINLOG_CREATE_ROUTINE_NEED_SUPER
  1142, // ER_TABLEACCESS_DENIED_ERROR (no TRIGGER privilege on the table)
  1227, // ER_SPECIFIC_ACCESS_DENIED_ERROR
  1044, // ER_DBACCESS_DENIED_ERROR
]);

export async function up(knex: Knex): Promise<void> {
  if (dialectOf(knex) !== 'mysql') return;
  for (const op of ['update', 'delete']) {
    try {
      await knex.raw(
        `create trigger ${table}_no_${op} before ${op} on ${table} for each row ` +
          `signal sqlstate '45000' set message_text = '${refusal}'`,
      );
    } catch (err) {
      if (!notPermitted.has((err as { errno?: unknown }).errno as number)) throw err;
      // Both or neither: a lone trigger would look like protection it is not.
      await knex.raw(`drop trigger if exists ${table}_no_update`);
      return;
    }
  }
}

export async function down(knex: Knex): Promise<void> {
  if (dialectOf(knex) !== 'mysql') return;
  for (const op of ['update', 'delete']) await knex.raw(`drop trigger if exists ${table}_no_${op}`);
}
