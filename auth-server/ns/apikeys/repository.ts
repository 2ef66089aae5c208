// Storage of API keys by SHA-256 hash: Save, and Load of an unrevoked key by the hash of what was presented.
import type { Knex } from 'knex';
import { rethrowConflict } from '../../common/db/errors.js';
import { fromDbMillis, fromDbMillisOrNull } from '../../common/db/timestamps.js';
import { type ApiKeyRecord, rolesSchema } from './model.js';

const table = 'ns_api_keys';

export interface ApiKeyRepository {
  /** Throws ConflictError when the hash exists already. */
  save(record: Omit<ApiKeyRecord, 'revokedAt'>): Promise<void>;
  findActiveByHash(keyHash: string): Promise<ApiKeyRecord | undefined>;
}

interface Row {
  id: string;
  server_id: string | null;
  name: string;
  key_hash: string;
  roles: string;
  created_at: unknown;
  revoked_at: unknown;
}

export function createApiKeyRepository(knex: Knex): ApiKeyRepository {
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
        });
      } catch (err) {
        rethrowConflict(err, 'api key', record.id);
      }
    },

    async findActiveByHash(keyHash) {
      const row = await knex<Row>(table).where({ key_hash: keyHash }).whereNull('revoked_at').first();
      if (!row) return undefined;
      const revokedAt = fromDbMillisOrNull(row.revoked_at);
      return {
        id: row.id,
        serverId: row.server_id,
        name: row.name,
        keyHash: row.key_hash,
        roles: rolesSchema.parse(JSON.parse(row.roles)),
        createdAt: new Date(fromDbMillis(row.created_at)),
        revokedAt: revokedAt === null ? null : new Date(revokedAt),
      };
    },
  };
}
