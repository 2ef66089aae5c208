// Storage of NS accounts: Save/Load/Delete over knex with typed not-found and conflict errors, guarded
// block/unblock updates, and a filtered keyset-paged list — the same on SQLite, PostgreSQL and MariaDB.
import type { Knex } from 'knex';
import { NotFoundError, rethrowConflict } from '../../common/db/errors.js';
import { fromDbMillis, fromDbMillisOrNull } from '../../common/db/timestamps.js';
import { decodeAccountMarker, encodeAccountMarker } from './marker.js';
import {
  type Account,
  type AccountPage,
  type AccountQuery,
  defaultAccountPageSize,
  maxAccountPageSize,
  storedJwkSchema,
} from './model.js';

const table = 'ns_accounts';
const entity = 'account';

export interface AccountRepository {
  /** Throws ConflictError when the key is already enrolled on the server. */
  save(account: Account): Promise<void>;
  /** Throws NotFoundError. */
  load(id: string): Promise<Account>;
  findByThumbprint(serverId: string, keyThumbprint: string): Promise<Account | undefined>;
  listByUser(serverId: string, userid: string): Promise<Account[]>;
  /** The server's accounts enrolled from one app instance (usually one; several userids are possible). */
  listByAppInstance(serverId: string, appInstanceId: string): Promise<Account[]>;
  /** Sets `blocked_at` unless already set: `blocked` when this call set it, `unchanged`, or `unknown`. */
  block(id: string, now: number): Promise<'blocked' | 'unchanged' | 'unknown'>;
  /** Name of the account's virtual server (audit events name servers). */
  serverName(serverId: string): Promise<string>;
  recordLogin(id: string, now: number): Promise<void>;
  /** The account if it belongs to that server. */
  find(serverId: string, id: string): Promise<Account | undefined>;
  /** Throws InvalidMarkerError, RangeError for a bad limit. In creation order (then id). */
  list(serverId: string, query: AccountQuery): Promise<AccountPage>;
  /**
   * Sets (`at` a time) or clears (`at` null) `blocked_at` with one guarded UPDATE, so of concurrent callers
   * exactly one sees `changed`.
   */
  setBlocked(serverId: string, id: string, at: number | null): Promise<'changed' | 'unchanged' | 'unknown'>;
  /** False when the server has no such account. */
  delete(serverId: string, id: string): Promise<boolean>;
  /**
   * Replaces the account's key only while it still is `oldThumbprint` (one guarded UPDATE: of concurrent
   * rotations one wins); false otherwise. A key another account of the server holds is a ConflictError.
   */
  rotateKey(
    id: string,
    oldThumbprint: string,
    next: { publicJwk: Account['publicJwk']; keyThumbprint: string },
  ): Promise<boolean>;
  /** Changes the given members; false when the server has no such account. */
  update(
    serverId: string,
    id: string,
    change: { userid?: string; description?: string | null },
  ): Promise<boolean>;
}

interface Row {
  id: string;
  server_id: string;
  userid: string;
  public_jwk: string;
  key_thumbprint: string;
  app_instance_id: string;
  sfs_issuer: string;
  description: string | null;
  client_version: string | null;
  created_at: unknown;
  last_login_at: unknown;
  last_push_at: unknown;
  blocked_at: unknown;
}

const dateOrNull = (value: unknown) => {
  const ms = fromDbMillisOrNull(value);
  return ms === null ? null : new Date(ms);
};

function toDomain(row: Row): Account {
  return {
    id: row.id,
    serverId: row.server_id,
    userid: row.userid,
    publicJwk: storedJwkSchema.parse(JSON.parse(row.public_jwk)),
    keyThumbprint: row.key_thumbprint,
    appInstanceId: row.app_instance_id,
    sfsIssuer: row.sfs_issuer,
    description: row.description,
    clientVersion: row.client_version,
    createdAt: new Date(fromDbMillis(row.created_at)),
    lastLoginAt: dateOrNull(row.last_login_at),
    lastPushAt: dateOrNull(row.last_push_at),
    blockedAt: dateOrNull(row.blocked_at),
  };
}

export function createAccountRepository(knex: Knex): AccountRepository {
  return {
    async save(a) {
      const row: Row = {
        id: a.id,
        server_id: a.serverId,
        userid: a.userid,
        public_jwk: JSON.stringify(a.publicJwk),
        key_thumbprint: a.keyThumbprint,
        app_instance_id: a.appInstanceId,
        sfs_issuer: a.sfsIssuer,
        description: a.description,
        client_version: a.clientVersion,
        created_at: a.createdAt.getTime(),
        last_login_at: a.lastLoginAt?.getTime() ?? null,
        last_push_at: a.lastPushAt?.getTime() ?? null,
        blocked_at: a.blockedAt?.getTime() ?? null,
      };
      try {
        await knex(table).insert(row);
      } catch (err) {
        rethrowConflict(err, entity, a.keyThumbprint);
      }
    },

    async load(id) {
      const row = await knex<Row>(table).where({ id }).first();
      if (!row) throw new NotFoundError(entity, id);
      return toDomain(row);
    },

    async findByThumbprint(serverId, keyThumbprint) {
      const row = await knex<Row>(table)
        .where({ server_id: serverId, key_thumbprint: keyThumbprint })
        .first();
      return row ? toDomain(row) : undefined;
    },

    async listByUser(serverId, userid) {
      const rows = await knex<Row>(table).where({ server_id: serverId, userid }).orderBy('created_at');
      return rows.map(toDomain);
    },

    async listByAppInstance(serverId, appInstanceId) {
      const rows = await knex<Row>(table)
        .where({ server_id: serverId, app_instance_id: appInstanceId })
        .orderBy('created_at');
      return rows.map(toDomain);
    },

    async block(id, now) {
      const changed: unknown = await knex(table)
        .where({ id })
        .whereNull('blocked_at')
        .update({ blocked_at: now });
      if (changed === 1) return 'blocked';
      return (await knex(table).where({ id }).first('id')) !== undefined ? 'unchanged' : 'unknown';
    },

    async serverName(serverId) {
      const row: { name: string } | undefined = await knex('ns_virtual_servers')
        .where({ id: serverId })
        .first('name');
      if (!row) throw new NotFoundError('virtual server', serverId);
      return row.name;
    },

    async recordLogin(id, now) {
      await knex(table).where({ id }).update({ last_login_at: now });
    },

    async find(serverId, id) {
      const row = await knex<Row>(table).where({ id, server_id: serverId }).first();
      return row ? toDomain(row) : undefined;
    },

    async list(serverId, query) {
      const limit = query.limit ?? defaultAccountPageSize;
      if (!Number.isInteger(limit) || limit < 1 || limit > maxAccountPageSize)
        throw new RangeError(`limit must be 1–${maxAccountPageSize}`);
      const after = query.marker === undefined ? undefined : decodeAccountMarker(query.marker);
      const q = knex<Row>(table).select('*').where('server_id', serverId);
      if (query.userid !== undefined) q.where('userid', query.userid);
      if (query.blocked === true) q.whereNotNull('blocked_at');
      if (query.blocked === false) q.whereNull('blocked_at');
      if (after) {
        // created_at is not unique: the id breaks ties, as in the index (server_id, created_at, id).
        q.where((w) =>
          w
            .where('created_at', '>', after.createdAt)
            .orWhere((e) => e.where('created_at', after.createdAt).andWhere('id', '>', after.id)),
        );
      }
      const rows = (await q
        .orderBy('created_at', 'asc')
        .orderBy('id', 'asc')
        .limit(limit + 1)) as Row[];
      const accounts = rows.slice(0, limit).map(toDomain);
      const last = accounts.at(-1);
      return {
        accounts,
        nextMarker:
          rows.length > limit && last
            ? encodeAccountMarker({ createdAt: last.createdAt.getTime(), id: last.id })
            : null,
      };
    },

    async setBlocked(serverId, id, at) {
      const q = knex(table).where({ id, server_id: serverId });
      if (at === null) q.whereNotNull('blocked_at');
      else q.whereNull('blocked_at');
      const changed: unknown = await q.update({ blocked_at: at });
      if (changed === 1) return 'changed';
      const exists = await knex(table).where({ id, server_id: serverId }).first('id');
      return exists !== undefined ? 'unchanged' : 'unknown';
    },

    async delete(serverId, id) {
      return (await knex(table).where({ id, server_id: serverId }).del()) > 0;
    },

    async rotateKey(id, oldThumbprint, next) {
      try {
        const changed: unknown = await knex(table)
          .where({ id, key_thumbprint: oldThumbprint })
          .update({ public_jwk: JSON.stringify(next.publicJwk), key_thumbprint: next.keyThumbprint });
        return changed === 1;
      } catch (err) {
        rethrowConflict(err, entity, next.keyThumbprint);
        throw err;
      }
    },

    async update(serverId, id, change) {
      const row: Partial<Row> = {
        ...(change.userid !== undefined && { userid: change.userid }),
        ...(change.description !== undefined && { description: change.description }),
      };
      if (Object.keys(row).length === 0)
        return (await knex(table).where({ id, server_id: serverId }).first('id')) !== undefined;
      const changed: unknown = await knex(table).where({ id, server_id: serverId }).update(row);
      return typeof changed === 'number' && changed > 0;
    },
  };
}
