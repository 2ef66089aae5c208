// Storage of API keys by SHA-256 hash: Save, Load of an unrevoked key (by hash or id), List and Revoke.
import type { Knex } from 'knex';
import { rethrowConflict } from '../../common/db/errors.js';
import { fromDbMillis, fromDbMillisOrNull } from '../../common/db/timestamps.js';
import { type ApiKeyRecord, rolesSchema, storedRolesSchema } from './model.js';

const table = 'ns_api_keys';

export interface ApiKeyRepository {
  /** Throws ConflictError when the id or hash exists already. */
  save(record: Omit<ApiKeyRecord, 'revokedAt'>): Promise<void>;
  findActiveByHash(keyHash: string): Promise<ApiKeyRecord | undefined>;
  findActiveById(id: string): Promise<ApiKeyRecord | undefined>;
  /** The unrevoked keys of one virtual server, oldest first. */
  listActive(serverId: string): Promise<ApiKeyRecord[]>;
  countActive(serverId: string): Promise<number>;
  /**
   * Revokes an unrevoked key of that server (one conditional UPDATE: of concurrent revocations exactly one
   * reports true); false when there was no such active key.
   */
  revoke(id: string, serverId: string, at: number): Promise<boolean>;
}

interface Row {
  id: string;
  server_id: string | null;
  name: string;
  key_hash: string;
  roles: string;
  created_at: unknown;
  revoked_at: unknown;
  created_by: string | null;
}

function toDomain(row: Row): ApiKeyRecord {
  const revokedAt = fromDbMillisOrNull(row.revoked_at);
  return {
    id: row.id,
    serverId: row.server_id,
    name: row.name,
    keyHash: row.key_hash,
    roles: storedRolesSchema.parse(JSON.parse(row.roles)),
    createdAt: new Date(fromDbMillis(row.created_at)),
    revokedAt: revokedAt === null ? null : new Date(revokedAt),
    createdBy: row.created_by ?? null,
  };
}

export function createApiKeyRepository(knex: Knex): ApiKeyRepository {
  const active = () => knex<Row>(table).whereNull('revoked_at');
  return {
    async save(record) {
      try {
        await knex(table).insert({
          id: record.id,
          server_id: record.serverId,
          name: record.name,
          key_hash: record.keyHash,
          roles: JSON.stringify(rolesSchema.parse(record.roles)),
          created_at: record.createdAt.getTime(),
          created_by: record.createdBy ?? null,
        });
      } catch (err) {
        rethrowConflict(err, 'api key', record.id);
      }
    },

    async findActiveByHash(keyHash) {
      const row = await active().where({ key_hash: keyHash }).first();
      return row ? toDomain(row) : undefined;
    },

    async findActiveById(id) {
      const row = await active().where({ id }).first();
      return row ? toDomain(row) : undefined;
    },

    async listActive(serverId) {
      const rows = await active()
        .where({ server_id: serverId })
        .orderBy([{ column: 'created_at' }, 'id']);
      return rows.map(toDomain);
    },

    async countActive(serverId) {
      const [row] = await active().where({ server_id: serverId }).count({ n: '*' });
      return Number(row?.n ?? 0);
    },

    async revoke(id, serverId, at) {
      const affected: unknown = await knex(table)
        .where({ id, server_id: serverId })
        .whereNull('revoked_at')
        .update({ revoked_at: at });
      return affected === 1;
    },
  };
}
