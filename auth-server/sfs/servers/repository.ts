// Storage of the NS servers registered at this SFS: Save/Load over knex with typed conflict errors.
import type { Knex } from 'knex';
import type { Clock } from '../../common/clock.js';
import { isUniqueViolation } from '../../common/db/errors.js';
import { fromDbMillis } from '../../common/db/timestamps.js';
import { parseInput, SfsError } from '../errors.js';
import { acceptP256Jwk, p256PublicJwkSchema } from '../jwk.js';
import {
  type NewSfsServer,
  newSfsServerSchema,
  type SfsPolicyInput,
  type SfsServer,
  sfsPolicySchema,
  sfsServerIdSchema,
  storedSfsPolicySchema,
} from './model.js';

export const serversTable = 'sfs_ns_servers';

export interface SfsServerRepository {
  /** Throws SfsError `invalid_request`, or `conflict` when the id or key is taken; stores nothing then. */
  create(input: NewSfsServer): Promise<SfsServer>;
  find(id: string): Promise<SfsServer | undefined>;
  /** As find, but throws SfsError `unknown_server`. */
  get(id: string): Promise<SfsServer>;
  list(): Promise<SfsServer[]>;
  /** Replaces the policy (validated whole, defaults filled in). Throws `invalid_request`, `unknown_server`. */
  updatePolicy(id: string, policy: SfsPolicyInput): Promise<SfsServer>;
}

interface Row {
  id: string;
  public_jwk: string | null;
  key_thumbprint: string | null;
  policy: string;
  created_at: unknown;
  updated_at: unknown;
}

function toDomain(row: Row): SfsServer {
  return {
    id: row.id,
    policy: storedSfsPolicySchema.parse(JSON.parse(row.policy)),
    publicJwk: row.public_jwk === null ? null : p256PublicJwkSchema.parse(JSON.parse(row.public_jwk)),
    keyThumbprint: row.key_thumbprint,
    createdAt: new Date(fromDbMillis(row.created_at)),
    updatedAt: new Date(fromDbMillis(row.updated_at)),
  };
}

/** Reads one server inside any handle (also a transaction). */
export async function findServer(db: Knex, id: string): Promise<SfsServer | undefined> {
  const row = await db<Row>(serversTable).where({ id }).first();
  return row ? toDomain(row) : undefined;
}

export function createSfsServerRepository(knex: Knex, clock: Clock): SfsServerRepository {
  return {
    async create(input) {
      const parsed = parseInput(newSfsServerSchema, input);
      const key = parsed.publicJwk === undefined ? undefined : await acceptP256Jwk(parsed.publicJwk);
      const now = clock.now();
      const row: Row = {
        id: parsed.id,
        public_jwk: key ? JSON.stringify(key.jwk) : null,
        key_thumbprint: key?.thumbprint ?? null,
        policy: JSON.stringify(parsed.policy),
        created_at: now,
        updated_at: now,
      };
      try {
        await knex(serversTable).insert(row);
      } catch (err) {
        if (isUniqueViolation(err))
          throw new SfsError('conflict', {}, `NS server "${parsed.id}" or its key is already registered`);
        throw err;
      }
      return toDomain(row);
    },

    find: (id) => findServer(knex, id),

    async get(id) {
      const server = await findServer(knex, id);
      if (!server) throw new SfsError('unknown_server');
      return server;
    },

    async list() {
      return (await knex<Row>(serversTable).select('*').orderBy('id')).map(toDomain);
    },

    async updatePolicy(id, input) {
      const serverId = parseInput(sfsServerIdSchema, id);
      const policy = parseInput(sfsPolicySchema, input);
      const affected: unknown = await knex(serversTable)
        .where({ id: serverId })
        .update({ policy: JSON.stringify(policy), updated_at: clock.now() });
      if (affected !== 1) throw new SfsError('unknown_server');
      const server = await findServer(knex, serverId);
      if (!server) throw new SfsError('unknown_server');
      return server;
    },
  };
}
