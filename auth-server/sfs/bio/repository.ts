// Storage of biometric public keys per app instance and of the one-time nonce each bio attestation consumes.
import type { Knex } from 'knex';
import { isUniqueViolation } from '../../common/db/errors.js';
import { fromDbMillis, fromDbMillisOrNull } from '../../common/db/timestamps.js';
import { type P256PublicJwk, p256PublicJwkSchema } from '../jwk.js';

export const bioKeysTable = 'sfs_bio_keys';

export interface BioKey {
  instanceId: string;
  publicJwk: P256PublicJwk;
  keyThumbprint: string;
  nonce: string | null;
  nonceExpiresAt: number | null;
  createdAt: Date;
}

interface BioKeyRow {
  instance_id: string;
  public_jwk: string;
  key_thumbprint: string;
  nonce: string | null;
  nonce_expires_at: unknown;
  created_at: unknown;
  updated_at: unknown;
}

function toDomain(row: BioKeyRow): BioKey {
  return {
    instanceId: row.instance_id,
    publicJwk: p256PublicJwkSchema.parse(JSON.parse(row.public_jwk)),
    keyThumbprint: row.key_thumbprint,
    nonce: row.nonce,
    nonceExpiresAt: fromDbMillisOrNull(row.nonce_expires_at),
    createdAt: new Date(fromDbMillis(row.created_at)),
  };
}

export interface BioKeyRepository {
  find(instanceId: string): Promise<BioKey | undefined>;
  /** Stores the instance's key, replacing an earlier one (and its unused nonce). */
  save(instanceId: string, key: { publicJwk: P256PublicJwk; thumbprint: string }, now: number): Promise<void>;
  /** True when a key was deleted. */
  delete(instanceId: string): Promise<boolean>;
  /** Sets the next nonce; false when the instance has no key. */
  setNonce(instanceId: string, nonce: string, expiresAt: number, now: number): Promise<boolean>;
  /**
   * Consumes `nonce` if it is still the instance's unexpired one: a guarded UPDATE, so of concurrent
   * redemptions exactly one gets true (DESIGN.md §6).
   */
  consumeNonce(instanceId: string, nonce: string, now: number): Promise<boolean>;
}

export function createBioKeyRepository(knex: Knex): BioKeyRepository {
  const replace = (instanceId: string, key: { publicJwk: P256PublicJwk; thumbprint: string }, now: number) =>
    knex(bioKeysTable)
      .where({ instance_id: instanceId })
      .update({
        public_jwk: JSON.stringify(key.publicJwk),
        key_thumbprint: key.thumbprint,
        nonce: null,
        nonce_expires_at: null,
        created_at: now,
        updated_at: now,
      });
  return {
    async find(instanceId) {
      const row = await knex<BioKeyRow>(bioKeysTable).where({ instance_id: instanceId }).first();
      return row ? toDomain(row) : undefined;
    },
    async save(instanceId, key, now) {
      if ((await replace(instanceId, key, now)) === 1) return;
      const row: BioKeyRow = {
        instance_id: instanceId,
        public_jwk: JSON.stringify(key.publicJwk),
        key_thumbprint: key.thumbprint,
        nonce: null,
        nonce_expires_at: null,
        created_at: now,
        updated_at: now,
      };
      try {
        await knex(bioKeysTable).insert(row);
      } catch (err) {
        // A concurrent registration of the same instance inserted first: the later key wins, as in series.
        if (!isUniqueViolation(err)) throw err;
        await replace(instanceId, key, now);
      }
    },
    async delete(instanceId) {
      return (await knex(bioKeysTable).where({ instance_id: instanceId }).delete()) > 0;
    },
    async setNonce(instanceId, nonce, expiresAt, now) {
      const n = await knex(bioKeysTable)
        .where({ instance_id: instanceId })
        .update({ nonce, nonce_expires_at: expiresAt, updated_at: now });
      return n === 1;
    },
    async consumeNonce(instanceId, nonce, now) {
      const n = await knex(bioKeysTable)
        .where({ instance_id: instanceId, nonce })
        .andWhere('nonce_expires_at', '>', now)
        .update({ nonce: null, nonce_expires_at: null, updated_at: now });
      return n === 1;
    },
  };
}
