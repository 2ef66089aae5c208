// Runs each service's migrations from a static list (works the same from dist/ and from tsx) in a
// migrations table of its own, so several services can share one database.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Knex } from 'knex';
// Through migrations/index.ts: the lint rule that keeps auth-server away from idp/ also matches migrations/idp.
import { migrationsByService as registry } from '../../../migrations/index.js';
import type { ServiceName } from './connect.js';
import type { Migration } from './migration.js';
import { ensureMigrationTables } from './migration-tables.js';

export type { Migration } from './migration.js';

export interface MigrationStatus {
  applied: string[];
  pending: string[];
}

/** knex's lock table is derived from this name: `knex_migrations_<service>_lock`. */
export function migrationTableFor(service: ServiceName): string {
  return `knex_migrations_${service}`;
}

class StaticMigrationSource implements Knex.MigrationSource<Migration> {
  constructor(private readonly list: readonly Migration[]) {
    const names = new Set(list.map((m) => m.name));
    if (names.size !== list.length) throw new Error('duplicate migration name in list');
  }
  getMigrations(): Promise<Migration[]> {
    return Promise.resolve([...this.list]);
  }
  getMigrationName(migration: Migration): string {
    return migration.name;
  }
  getMigration(migration: Migration): Promise<Knex.Migration> {
    return Promise.resolve({ up: migration.up, down: migration.down });
  }
}

/** The knex migrator config for a service; `list` overrides the registered migrations (tests). */
export function migratorConfigFor(
  service: ServiceName,
  list: readonly Migration[] = registry[service],
): Knex.MigratorConfig {
  return { migrationSource: new StaticMigrationSource(list), tableName: migrationTableFor(service) };
}

export interface MigrateOptions {
  /** How long to wait while another instance holds the migration lock. Default 60 s. */
  lockWaitMs?: number;
}

/**
 * Applies all pending migrations of the service; returns the names applied by this call. Safe to call from
 * many instances at once: one migrates, the others wait for its lock and then find nothing to do.
 */
export async function migrateLatest(
  knex: Knex,
  service: ServiceName,
  options: MigrateOptions = {},
): Promise<string[]> {
  const config = migratorConfigFor(service);
  await ensureMigrationTables(knex, migrationTableFor(service));
  const deadline = Date.now() + (options.lockWaitMs ?? 60_000);
  for (;;) {
    try {
      const [, applied] = (await knex.migrate.latest(config)) as [number, string[]];
      return applied;
    } catch (err) {
      if (!(err instanceof Error && err.name === 'MigrationLocked')) throw err;
      if (Date.now() >= deadline) {
        throw new Error(
          `${service} migrations are still locked by another instance; if none is running, a crashed run left ` +
            `the lock: set is_locked = 0 in ${migrationTableFor(service)}_lock`,
        );
      }
      await sleep(200);
    }
  }
}

export async function migrationStatus(knex: Knex, service: ServiceName): Promise<MigrationStatus> {
  const config = migratorConfigFor(service);
  await ensureMigrationTables(knex, migrationTableFor(service));
  const [completed, pending] = (await knex.migrate.list(config)) as [Array<{ name: string }>, Migration[]];
  return { applied: completed.map((m) => m.name), pending: pending.map((m) => m.name) };
}

/** Undoes every applied migration of the service (tests, and a deliberate uninstall). */
export async function rollbackAll(knex: Knex, service: ServiceName): Promise<string[]> {
  const [, rolledBack] = (await knex.migrate.rollback(migratorConfigFor(service), true)) as [
    number,
    string[],
  ];
  return rolledBack;
}
