// Storage of transactions (one answer each, consumed atomically) and of the server's registered types.
import type { Knex } from 'knex';
import { transactionSignedDataSchema } from '../../../protocol/mobile/transaction.js';
import { deleteExpiredRows } from '../../common/db/sweep.js';
import { fromDbMillis, fromDbMillisOrNull } from '../../common/db/timestamps.js';
import type { Transaction } from './model.js';

const table = 'ns_transactions';
const typesTable = 'ns_transaction_types';

interface Row {
  id: string;
  server_id: string;
  userid: string;
  account_id: string | null;
  type: string;
  locale: string;
  signed_data: string;
  template: string;
  authorization_details: string | null;
  created_at: unknown;
  expires_at: unknown;
  used_at: unknown;
  status: string | null;
  answered_by: string | null;
  receipt: string | null;
}

const toDomain = (row: Row): Transaction => ({
  id: row.id,
  serverId: row.server_id,
  userid: row.userid,
  accountId: row.account_id,
  type: row.type,
  locale: row.locale,
  data: transactionSignedDataSchema.parse(JSON.parse(row.signed_data)),
  template: row.template,
  authorizationDetails:
    row.authorization_details === null
      ? null
      : (JSON.parse(row.authorization_details) as Record<string, unknown>),
  createdAt: fromDbMillis(row.created_at),
  expiresAt: fromDbMillis(row.expires_at),
  usedAt: fromDbMillisOrNull(row.used_at),
  outcome: row.status === 'approved' || row.status === 'declined' ? row.status : null,
  answeredBy: row.answered_by,
  receipt: row.receipt,
});

export interface TransactionRepository {
  save(t: Omit<Transaction, 'usedAt' | 'outcome' | 'answeredBy' | 'receipt'>): Promise<void>;
  find(id: string): Promise<Transaction | undefined>;
  /**
   * The one answer: marks the transaction used with its outcome, true for exactly one of N concurrent
   * callers and only while it is unanswered and unexpired at `now`. Pass a knex transaction to write the
   * evidence with it.
   */
  answer(
    id: string,
    now: number,
    outcome: 'approved' | 'declined',
    by: string,
    receipt: string | null,
  ): Promise<boolean>;
  delete(id: string): Promise<void>;
  /**
   * Open (unanswered, unexpired at `now`) transactions the account may answer: those created for it and
   * those created for its user without naming an account.
   */
  countOpen(serverId: string, userid: string, accountId: string, now: number): Promise<number>;
  /**
   * Writes status `expired` on unanswered transactions that expired by `now`, in batches; how many. Reads
   * already say `expired` by time alone; this puts it in the row for whoever queries the table.
   */
  markExpired(now: number, batchSize?: number): Promise<number>;
  /** Removes transactions (answered or not, with their receipts) that expired before `before`. */
  deleteExpired(before: number): Promise<number>;
  findType(serverId: string, name: string): Promise<Record<string, string> | undefined>;
  listTypes(serverId: string): Promise<{ name: string; templates: Record<string, string> }[]>;
  /** Creates or replaces the type's templates. */
  putType(serverId: string, name: string, templates: Record<string, string>, now: number): Promise<void>;
  deleteType(serverId: string, name: string): Promise<boolean>;
}

export function createTransactionRepository(knex: Knex): TransactionRepository {
  return {
    async save(t) {
      await knex(table).insert({
        id: t.id,
        server_id: t.serverId,
        userid: t.userid,
        account_id: t.accountId,
        type: t.type,
        locale: t.locale,
        signed_data: JSON.stringify(t.data),
        template: t.template,
        authorization_details:
          t.authorizationDetails === null ? null : JSON.stringify(t.authorizationDetails),
        created_at: t.createdAt,
        expires_at: t.expiresAt,
      });
    },
    async find(id) {
      const row = await knex<Row>(table).where({ id }).first();
      return row ? toDomain(row) : undefined;
    },
    async answer(id, now, outcome, by, receipt) {
      // One guarded UPDATE writes the answer with its evidence: the affected-row count names the winner
      // (DESIGN.md §6; MariaDB has no UPDATE … RETURNING), and no reader sees a used row without its status.
      const affected: unknown = await knex(table)
        .where({ id })
        .whereNull('used_at')
        .andWhere('expires_at', '>', now)
        .update({ used_at: now, status: outcome, answered_by: by, receipt });
      return affected === 1;
    },
    async delete(id) {
      await knex(table).where({ id }).delete();
    },
    async countOpen(serverId, userid, accountId, now) {
      const row = await knex(table)
        .where({ server_id: serverId, userid })
        .andWhere((q) => q.whereNull('account_id').orWhere('account_id', accountId))
        .whereNull('used_at')
        .andWhere('expires_at', '>', now)
        .count<{ n: number | string }[]>({ n: '*' })
        .first();
      return Number(row?.n ?? 0);
    },
    async markExpired(now, batchSize = 500) {
      let marked = 0;
      for (;;) {
        const open = (q: Knex.QueryBuilder) =>
          q.whereNull('used_at').whereNull('status').andWhere('expires_at', '<=', now);
        const ids = (await open(knex(table)).orderBy('expires_at').limit(batchSize).pluck('id')) as string[];
        if (ids.length === 0) return marked;
        // The same guard again: an answer that won meanwhile (valid at its own earlier `now`) keeps its status.
        marked += Number(await open(knex(table).whereIn('id', ids)).update({ status: 'expired' }));
        if (ids.length < batchSize) return marked;
      }
    },
    deleteExpired: (before) =>
      deleteExpiredRows(knex, { table, keyColumn: 'id', expiresAtColumn: 'expires_at' }, before),
    async findType(serverId, name) {
      const row = await knex(typesTable)
        .where({ server_id: serverId, name })
        .first<{ templates: string } | undefined>('templates');
      return row ? (JSON.parse(row.templates) as Record<string, string>) : undefined;
    },
    async listTypes(serverId) {
      const rows = await knex(typesTable)
        .where({ server_id: serverId })
        .orderBy('name')
        .select<{ name: string; templates: string }[]>('name', 'templates');
      return rows.map((r) => ({
        name: r.name,
        templates: JSON.parse(r.templates) as Record<string, string>,
      }));
    },
    async putType(serverId, name, templates, now) {
      const json = JSON.stringify(templates);
      const updated = await knex(typesTable)
        .where({ server_id: serverId, name })
        .update({ templates: json, updated_at: now });
      if (updated === 0)
        await knex(typesTable).insert({
          server_id: serverId,
          name,
          templates: json,
          created_at: now,
          updated_at: now,
        });
    },
    async deleteType(serverId, name) {
      return (await knex(typesTable).where({ server_id: serverId, name }).delete()) > 0;
    },
  };
}
