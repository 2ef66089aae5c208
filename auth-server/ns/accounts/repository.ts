// Storage of NS accounts: Save/Load over knex with typed not-found and conflict errors.
import type { Knex } from 'knex';
import { NotFoundError, rethrowConflict } from '../../common/db/errors.js';
import { fromDbMillis, fromDbMillisOrNull } from '../../common/db/timestamps.js';
import { type Account, storedJwkSchema } from './model.js';

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
  };
}
