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
  storedAllowedAppsSchema,
  storedPolicySchema,
  type VirtualServer,
  type VirtualServerPatch,
  virtualServerPatchSchema,
} from './model.js';

const table = 'ns_virtual_servers';
const entity = 'virtual server';

export interface WriteOptions {
  /**
   * Runs inside the write's transaction after the row is written (audit record, SFS registration): if it
   * throws, nothing is stored.
   */
  inTransaction?: (server: VirtualServer, trx: Knex.Transaction, previous?: VirtualServer) => Promise<void>;
}

export interface VirtualServerRepository {
  /** Throws ZodError on invalid input and ConflictError when the name is taken; stores nothing then. */
  create(input: NewVirtualServer, options?: WriteOptions): Promise<VirtualServer>;
  findByName(name: string): Promise<VirtualServer | undefined>;
  /** As findByName, but throws NotFoundError. */
  getByName(name: string): Promise<VirtualServer>;
  /** All servers, ordered by name. */
  list(): Promise<VirtualServer[]>;
  /** Changes the display name, logo, allowed apps, branding, recovery policy and/or merges policy keys; throws NotFoundError or ZodError. */
  update(name: string, patch: VirtualServerPatch, options?: WriteOptions): Promise<VirtualServer>;
  /**
   * Deletes the server and (by foreign keys) its sessions, accounts, tokens and API keys. Throws
   * NotFoundError when there was nothing to delete; `inTransaction` sees the server as it was.
   */
  delete(name: string, options?: WriteOptions): Promise<void>;
  /** Returns the server, creating it with the default policy if missing; safe under concurrent callers. */
  ensure(input: { name: string; displayName: string }): Promise<VirtualServer>;
}

interface Row {
  id: string;
  name: string;
  display_name: string;
  policy: string;
  logo: string | null;
  allowed_apps: string | null;
  accent_light: string | null;
  accent_dark: string | null;
  app_link: string | null;
  /** boolean on PostgreSQL, 0/1 on SQLite and MySQL. */
  recovery_codes: unknown;
  created_at: unknown;
  updated_at: unknown;
}

/** Everything but the identity key columns (identity.ts reads those). */
const columns = [
  'id',
  'name',
  'display_name',
  'policy',
  'logo',
  'allowed_apps',
  'accent_light',
  'accent_dark',
  'app_link',
  'recovery_codes',
  'created_at',
  'updated_at',
];

function toDomain(row: Row): VirtualServer {
  return {
    id: row.id,
    name: row.name,
    displayName: row.display_name,
    logo: row.logo ?? null,
    policy: storedPolicySchema.parse(JSON.parse(row.policy)),
    allowedApps: row.allowed_apps === null ? [] : storedAllowedAppsSchema.parse(JSON.parse(row.allowed_apps)),
    accentLight: row.accent_light ?? null,
    accentDark: row.accent_dark ?? null,
    appLink: row.app_link ?? null,
    recoveryCodes: row.recovery_codes === true || row.recovery_codes === 1 || row.recovery_codes === '1',
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
    const [row] = await db(table).select<Row[]>(columns).where({ name }).limit(1);
    return row ? toDomain(row) : undefined;
  };

  const repository: VirtualServerRepository = {
    async create(input, options = {}) {
      const parsed = newVirtualServerSchema.parse(input);
      const now = clock.now();
      const row: Row = {
        id: randomToken(random, 16),
        name: parsed.name,
        display_name: parsed.displayName,
        policy: JSON.stringify(parsed.policy),
        logo: parsed.logo,
        allowed_apps: JSON.stringify(parsed.allowedApps),
        accent_light: parsed.accentLight,
        accent_dark: parsed.accentDark,
        app_link: parsed.appLink,
        recovery_codes: parsed.recoveryCodes,
        created_at: now,
        updated_at: now,
      };
      const server = toDomain(row);
      const { inTransaction } = options;
      try {
        // A plain insert without a step: ensure() races it across connections (one SQLite writer at a time).
        if (!inTransaction) await knex(table).insert(row);
        else
          await knex.transaction(async (trx) => {
            await trx(table).insert(row);
            await inTransaction(server, trx);
          });
      } catch (err) {
        rethrowConflict(err, entity, parsed.name);
      }
      return server;
    },

    findByName: (name) => findByName(knex, name),

    async getByName(name) {
      const server = await findByName(knex, name);
      if (!server) throw new NotFoundError(entity, name);
      return server;
    },

    async list() {
      const rows = await knex(table).select<Row[]>(columns).orderBy('name');
      return rows.map(toDomain);
    },

    async update(name, patch, options = {}) {
      const parsed = virtualServerPatchSchema.parse(patch);
      // Read-modify-write of the policy JSON: lock the row so concurrent patches of different keys merge.
      return knex.transaction(async (trx) => {
        const locked = await lockRows(trx, table, { name }, 'updated_at');
        const current = locked === 1 ? await findByName(trx, name) : undefined;
        if (!current) throw new NotFoundError(entity, name);
        const policy = policySchema.parse({ ...current.policy, ...stripUndefined(parsed.policy ?? {}) });
        const updated: VirtualServer = {
          ...current,
          displayName: parsed.displayName ?? current.displayName,
          logo: parsed.logo === undefined ? current.logo : parsed.logo,
          allowedApps: parsed.allowedApps ?? current.allowedApps,
          accentLight: parsed.accentLight === undefined ? current.accentLight : parsed.accentLight,
          accentDark: parsed.accentDark === undefined ? current.accentDark : parsed.accentDark,
          appLink: parsed.appLink === undefined ? current.appLink : parsed.appLink,
          recoveryCodes: parsed.recoveryCodes ?? current.recoveryCodes,
          policy,
          updatedAt: new Date(clock.now()),
        };
        await trx(table)
          .where({ id: current.id })
          .update({
            display_name: updated.displayName,
            logo: updated.logo,
            policy: JSON.stringify(policy),
            allowed_apps: JSON.stringify(updated.allowedApps),
            accent_light: updated.accentLight,
            accent_dark: updated.accentDark,
            app_link: updated.appLink,
            recovery_codes: updated.recoveryCodes,
            updated_at: updated.updatedAt.getTime(),
          });
        await options.inTransaction?.(updated, trx, current);
        return updated;
      });
    },

    async delete(name, options = {}) {
      await knex.transaction(async (trx) => {
        // Lock first (see lockRows): of concurrent deletions one goes on, the others then find no row.
        const locked = await lockRows(trx, table, { name }, 'updated_at');
        const current = locked === 1 ? await findByName(trx, name) : undefined;
        if (!current) throw new NotFoundError(entity, name);
        await trx(table).where({ id: current.id }).del();
        await options.inTransaction?.(current, trx);
      });
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
