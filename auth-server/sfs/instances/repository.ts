// App instances (one per installed app): registered by their P-256 public key, found by id or thumbprint.
import type { Knex } from 'knex';
import { type Clock, type Random, randomToken } from '../../common/clock.js';
import { isUniqueViolation } from '../../common/db/errors.js';
import { fromDbMillis, fromDbMillisOrNull } from '../../common/db/timestamps.js';
import { SfsError } from '../errors.js';
import { acceptP256Jwk, type P256PublicJwk, p256PublicJwkSchema } from '../jwk.js';

export const instancesTable = 'sfs_app_instances';

export interface AppInstance {
  id: string;
  publicJwk: P256PublicJwk;
  keyThumbprint: string;
  hasPin: boolean;
  blocked: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface AppInstanceRepository {
  /**
   * Registers the key, or returns the instance already registered under it (an app retrying after a lost
   * answer gets the same id; concurrent registrations of one key agree on one instance).
   * Throws SfsError `invalid_request` for anything but a valid P-256 public JWK.
   */
  register(input: { publicJwk: unknown }): Promise<AppInstance>;
  find(id: string): Promise<AppInstance | undefined>;
  /** As find, but throws SfsError `unknown_instance`. */
  get(id: string): Promise<AppInstance>;
  /** The lookup of the secure-channel endpoint: the peer key's thumbprint → its instance. */
  findByThumbprint(thumbprint: string): Promise<AppInstance | undefined>;
}

/** The stored row; the verifier never leaves the pin module. */
export interface InstanceRow {
  id: string;
  public_jwk: string;
  key_thumbprint: string;
  pin_verifier: string | null;
  pin_set_at: unknown;
  failed_attempts: unknown;
  blocked_at: unknown;
  created_at: unknown;
  updated_at: unknown;
}

function toDomain(row: InstanceRow): AppInstance {
  return {
    id: row.id,
    publicJwk: p256PublicJwkSchema.parse(JSON.parse(row.public_jwk)),
    keyThumbprint: row.key_thumbprint,
    hasPin: row.pin_verifier !== null,
    blocked: fromDbMillisOrNull(row.blocked_at) !== null,
    createdAt: new Date(fromDbMillis(row.created_at)),
    updatedAt: new Date(fromDbMillis(row.updated_at)),
  };
}

export function createAppInstanceRepository(knex: Knex, clock: Clock, random: Random): AppInstanceRepository {
  const findBy = async (where: Partial<InstanceRow>) => {
    const row = await knex<InstanceRow>(instancesTable).where(where).first();
    return row ? toDomain(row) : undefined;
  };
  return {
    async register(input) {
      // Every flow of an app re-registers its key: a key already stored was proven on the curve then, so
      // the lookup comes first and only a new key pays for the import (acceptP256Jwk).
      let existing: AppInstance | undefined;
      const { jwk, thumbprint } = await acceptP256Jwk(input?.publicJwk, async (t) => {
        existing = await findBy({ key_thumbprint: t });
        return existing !== undefined;
      });
      if (existing) return existing;
      const now = clock.now();
      const row: InstanceRow = {
        id: randomToken(random, 16),
        public_jwk: JSON.stringify(jwk),
        key_thumbprint: thumbprint,
        pin_verifier: null,
        pin_set_at: null,
        failed_attempts: 0,
        blocked_at: null,
        created_at: now,
        updated_at: now,
      };
      try {
        await knex(instancesTable).insert(row);
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
        // Registered concurrently under the same key: the stored instance is the one.
        const winner = await findBy({ key_thumbprint: thumbprint });
        if (winner) return winner;
        throw err;
      }
      return toDomain(row);
    },
    find: (id) => findBy({ id }),
    async get(id) {
      const instance = await findBy({ id });
      if (!instance) throw new SfsError('unknown_instance');
      return instance;
    },
    findByThumbprint: (thumbprint) => findBy({ key_thumbprint: thumbprint }),
  };
}
