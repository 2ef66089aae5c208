// Storage of NS virtual servers: Save/Load/Delete over knex with typed not-found and conflict errors.
import type { Knex } from 'knex';
import { type Clock, type Random, randomToken, systemRandom } from '../../common/clock.js';
import { ConflictError, NotFoundError, rethrowConflict } from '../../common/db/errors.js';
import { lockRows } from '../../common/db/lock.js';
import { fromDbMillis } from '../../common/db/timestamps.js';
import {
  type NewVirtualServer,
  newVirtualServerSchema,
  policySchema,
  storedPolicySchema,
  type VirtualServer,
  type VirtualServerPatch,
  virtualServerPatchSchema,
} from './model.js';

const table = 'ns_virtual_servers';
const entity = 'virtual server';

export interface VirtualServerRepository {
  /** Throws ZodError on invalid input and ConflictError when the name is taken; stores nothing then. */
  create(input: NewVirtualServer): Promise<VirtualServer>;
  findByName(name: string): Promise<VirtualServer | undefined>;
  /** As findByName, but throws NotFoundError. */
  getByName(name: string): Promise<VirtualServer>;
  /** All servers, ordered by name. */
  list(): Promise<VirtualServer[]>;
  /** Changes the display name and/or merges policy keys; throws NotFoundError or ZodError. */
  update(name: string, patch: VirtualServerPatch): Promise<VirtualServer>;
  /** Throws NotFoundError when there was nothing to delete. */
  delete(name: string): Promise<void>;
  /** Returns the server, creating it with the default policy if missing; safe under concurrent callers. */
  ensure(input: { name: string; displayName: string }): Promise<VirtualServer>;
}

interface Row {
  id: string;
  name: string;
  display_name: string;
  policy: string;
  created_at: unknown;
  updated_at: unknown;
}

function toDomain(row: Row): VirtualServer {
  return {
    id: row.id,
    name: row.name,
    displayName: row.display_name,
    policy: storedPolicySchema.parse(JSON.parse(row.policy)),
    createdAt: new Date(fromDbMillis(row.created_at)),
    updatedAt: new Date(fromDbMillis(row.updated_at)),
  };
}

export function createVirtualServerRepository(
  knex: Knex,
  clock: Clock,
  random: Random = systemRandom,
): VirtualServerRepository {
  const findByName = async (db: Knex, name: string) => {
    const row = await db<Row>(table).where({ name }).first();
    return row ? toDomain(row) : undefined;
  };

  const repository: VirtualServerRepository = {
    async create(input) {
      const parsed = newVirtualServerSchema.parse(input);
      const now = clock.now();
      const row: Row = {
        id: randomToken(random, 16),
        name: parsed.name,
        display_name: parsed.displayName,
        policy: JSON.stringify(parsed.policy),
        created_at: now,
        updated_at: now,
      };
      try {
        await knex(table).insert(row);
      } catch (err) {
        rethrowConflict(err, entity, parsed.name);
      }
      return toDomain(row);
    },

    findByName: (name) => findByName(knex, name),

    async getByName(name) {
      const server = await findByName(knex, name);
      if (!server) throw new NotFoundError(entity, name);
      return server;
    },

    async list() {
      const rows = await knex<Row>(table).select('*').orderBy('name');
      return rows.map(toDomain);
    },

    async update(name, patch) {
      const parsed = virtualServerPatchSchema.parse(patch);
      // Read-modify-write of the policy JSON: lock the row so concurrent patches of different keys merge.
      return knex.transaction(async (trx) => {
        const locked = await lockRows(trx, table, { name }, 'updated_at');
        const current = locked === 1 ? await findByName(trx, name) : undefined;
        if (!current) throw new NotFoundError(entity, name);
        const policy = policySchema.parse({ ...current.policy, ...stripUndefined(parsed.policy ?? {}) });
        const displayName = parsed.displayName ?? current.displayName;
        const updatedAt = clock.now();
        await trx(table)
          .where({ id: current.id })
          .update({ display_name: displayName, policy: JSON.stringify(policy), updated_at: updatedAt });
        return { ...current, displayName, policy, updatedAt: new Date(updatedAt) };
      });
    },

    async delete(name) {
      const deleted = await knex(table).where({ name }).del();
      if (deleted === 0) throw new NotFoundError(entity, name);
    },

    async ensure(input) {
      const existing = await findByName(knex, input.name);
      if (existing) return existing;
      try {
        return await repository.create(input);
      } catch (err) {
        // Another instance created it between our read and insert: theirs is as good as ours.
        if (err instanceof ConflictError) return repository.getByName(input.name);
        throw err;
      }
    },
  };
  return repository;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
