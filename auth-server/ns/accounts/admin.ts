// Management of a virtual server's accounts (phones) over REST and the CLI: list, read, block, unblock,
// move to another userid or describe (nextAuth updateAccountUser), delete — each change with its audit
// event in the same transaction, and only when something changed.
import type { Knex } from 'knex';
import type { Clock } from '../../common/clock.js';
import { lockRows } from '../../common/db/lock.js';
import type { AuditContext, NewAuditEvent } from '../audit/model.js';
import type { AuditRecorder } from '../audit/service.js';
import type { VirtualServer } from '../servers/model.js';
import { createSessionRepository } from '../sessions/repository.js';
import {
  type Account,
  type AccountPage,
  type AccountPatch,
  type AccountQuery,
  accountPatchSchema,
  useridSchema,
} from './model.js';
import { createAccountRepository } from './repository.js';

export interface AccountAdminService {
  get(server: VirtualServer, id: string): Promise<Account | undefined>;
  /** Throws InvalidMarkerError or RangeError (limit). */
  list(server: VirtualServer, query: AccountQuery): Promise<AccountPage>;
  /**
   * Idempotent: `changed` is false when the account was already blocked (then nothing is recorded). Of
   * concurrent blocks exactly one changes the account and records `account.blocked`. Undefined: no such
   * account on the server.
   */
  block(server: VirtualServer, id: string, by: AuditContext): Promise<AccountChange | undefined>;
  /** As block, for `account.unblocked`. */
  unblock(server: VirtualServer, id: string, by: AuditContext): Promise<AccountChange | undefined>;
  /** Throws ZodError. Records `account.updated` with what changed (nothing when nothing did). */
  update(
    server: VirtualServer,
    id: string,
    patch: AccountPatch,
    by: AuditContext,
  ): Promise<AccountChange | undefined>;
  /**
   * The deleted account, recorded as `account.deleted`; undefined when there was none. Takes only the
   * server's id and name: the phone's channel (`account.delete`) knows no more of it.
   */
  delete(server: ServerRef, id: string, by: AuditContext): Promise<Account | undefined>;
  /**
   * Deletes every account of the userid on the server (the user's profile stays), one `account.deleted`
   * each; returns how many. Throws ZodError for a bad userid.
   */
  deleteAllOf(server: VirtualServer, userid: string, by: AuditContext): Promise<number>;
}

/** What an account change needs to know of its virtual server. */
export type ServerRef = Pick<VirtualServer, 'id' | 'name'>;

export interface AccountChange {
  account: Account;
  changed: boolean;
}

export function createAccountAdminService(deps: {
  db: Knex;
  clock: Clock;
  audit: AuditRecorder;
}): AccountAdminService {
  const { db, clock, audit } = deps;

  const event = (
    type: 'account.blocked' | 'account.unblocked' | 'account.deleted' | 'account.updated',
    server: ServerRef,
    account: Account,
    by: AuditContext,
    details: NewAuditEvent['details'],
  ): NewAuditEvent => ({
    type,
    server: { id: server.id, name: server.name },
    ...by,
    subject: { kind: 'account', id: account.id },
    details,
  });

  const setBlocked = (server: VirtualServer, id: string, blocked: boolean, by: AuditContext) =>
    db.transaction(async (trx): Promise<AccountChange | undefined> => {
      const repo = createAccountRepository(trx);
      // The guarded UPDATE is the transaction's first statement: it decides races and takes the lock.
      const outcome = await repo.setBlocked(server.id, id, blocked ? clock.now() : null);
      if (outcome === 'unknown') return undefined;
      const account = await repo.find(server.id, id);
      if (!account) return undefined;
      if (outcome === 'changed')
        await audit.record(
          event(blocked ? 'account.blocked' : 'account.unblocked', server, account, by, {
            userid: account.userid,
          }),
          trx,
        );
      return { account, changed: outcome === 'changed' };
    });

  /**
   * Deletes the accounts with these ids (the caller locked them), recording each one that went. A deleted
   * account's logged-in NS sessions end in the same transaction: removing a lost phone ends its access now.
   */
  const deleteEach = async (
    trx: Knex.Transaction,
    server: ServerRef,
    accounts: Account[],
    by: AuditContext,
  ): Promise<Account[]> => {
    const repo = createAccountRepository(trx);
    const deleted: Account[] = [];
    for (const account of accounts) {
      if (!(await repo.delete(server.id, account.id))) continue;
      const sessionsEnded = await createSessionRepository(trx).endForAccount(
        server.id,
        account.id,
        clock.now(),
      );
      await audit.record(
        event('account.deleted', server, account, by, {
          userid: account.userid,
          keyThumbprint: account.keyThumbprint,
          // Only when there were any: most deletions end none, and their events stay as before.
          ...(sessionsEnded > 0 && { sessionsEnded }),
        }),
        trx,
      );
      deleted.push(account);
    }
    return deleted;
  };

  return {
    get: (server, id) => createAccountRepository(db).find(server.id, id),

    list: (server, query) => createAccountRepository(db).list(server.id, query),

    block: (server, id, by) => setBlocked(server, id, true, by),
    unblock: (server, id, by) => setBlocked(server, id, false, by),

    async update(server, id, input, by) {
      const patch = accountPatchSchema.parse(input);
      return db.transaction(async (trx) => {
        // Lock first (see lockRows): concurrent changes apply one after the other, each seeing the last.
        if ((await lockRows(trx, 'ns_accounts', { id, server_id: server.id }, 'userid')) !== 1)
          return undefined;
        const repo = createAccountRepository(trx);
        const before = await repo.find(server.id, id);
        if (!before) return undefined;
        const change: { userid?: string; description?: string | null } = {};
        if (patch.userid !== undefined && patch.userid !== before.userid) change.userid = patch.userid;
        if (patch.description !== undefined && patch.description !== before.description)
          change.description = patch.description;
        if (Object.keys(change).length === 0) return { account: before, changed: false };
        await repo.update(server.id, id, change);
        const account: Account = { ...before, ...change };
        await audit.record(
          event('account.updated', server, account, by, {
            changed: Object.keys(change),
            userid: account.userid,
            ...(change.userid !== undefined && { previousUserid: before.userid }),
            ...(change.description !== undefined && { description: account.description }),
          }),
          trx,
        );
        return { account, changed: true };
      });
    },

    async delete(server, id, by) {
      return db.transaction(async (trx) => {
        if ((await lockRows(trx, 'ns_accounts', { id, server_id: server.id }, 'userid')) !== 1)
          return undefined;
        const account = await createAccountRepository(trx).find(server.id, id);
        if (!account) return undefined;
        const [deleted] = await deleteEach(trx, server, [account], by);
        return deleted;
      });
    },

    async deleteAllOf(server, rawUserid, by) {
      const userid = useridSchema.parse(rawUserid);
      return db.transaction(async (trx) => {
        const where = { server_id: server.id, userid };
        if ((await lockRows(trx, 'ns_accounts', where, 'userid')) === 0) return 0;
        const accounts = await createAccountRepository(trx).listByUser(server.id, userid);
        return (await deleteEach(trx, server, accounts, by)).length;
      });
    },
  };
}
