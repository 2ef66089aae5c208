// Per-service migrations on every database: up from empty, idempotent, status, rollback, shared database.
import { expect } from 'chai';
import type { Knex } from 'knex';
import {
  type Migration,
  migrateLatest,
  migrationStatus,
  migratorConfigFor,
  rollbackAll,
} from '../../../../auth-server/common/db/migrate.js';
import { migrationsByService } from '../../../../migrations/index.js';
import { describeEachDatabase } from './databases.js';

// Every NS migration by name, so adding one does not touch this suite.
const nsNames = migrationsByService.ns.map((m) => m.name);

// Stands in for another service's schema, so two lists can share one database.
const otherService: Migration[] = [
  {
    name: '0001_things',
    up: (knex) => knex.schema.createTable('sfs_test_things', (t) => t.string('id', 32).primary()),
    down: (knex) => knex.schema.dropTable('sfs_test_things'),
  },
];

async function migrationNames(knex: Knex, table: string): Promise<string[]> {
  return (await knex(table).select('name').orderBy('id')).map((r: { name: string }) => r.name);
}

describeEachDatabase('migrations', (db) => {
  afterEach(async () => {
    const { knex } = db();
    await rollbackAll(knex, 'ns');
    await knex.migrate.rollback(migratorConfigFor('sfs', otherService), true);
  });

  it('migrates NS up from an empty database and reports status', async () => {
    const { knex } = db();
    expect(await migrationStatus(knex, 'ns')).to.deep.equal({
      applied: [],
      pending: nsNames,
    });
    expect(await migrateLatest(knex, 'ns')).to.deep.equal(nsNames);
    expect(await knex.schema.hasTable('ns_virtual_servers')).to.equal(true);
    expect(await migrationStatus(knex, 'ns')).to.deep.equal({
      applied: nsNames,
      pending: [],
    });
  });

  it('does nothing when run again', async () => {
    const { knex } = db();
    await migrateLatest(knex, 'ns');
    expect(await migrateLatest(knex, 'ns')).to.deep.equal([]);
    expect(await migrationNames(knex, 'knex_migrations_ns')).to.deep.equal(nsNames);
  });

  it('rolls everything back', async () => {
    const { knex } = db();
    await migrateLatest(knex, 'ns');
    expect([...(await rollbackAll(knex, 'ns'))].sort()).to.deep.equal([...nsNames].sort());
    expect(await knex.schema.hasTable('ns_virtual_servers')).to.equal(false);
    expect(await migrationStatus(knex, 'ns')).to.deep.equal({
      applied: [],
      pending: nsNames,
    });
  });

  it('migrates every other service up and back down from its own list', async () => {
    const { knex } = db();
    for (const service of ['sfs', 'mc', 'idp'] as const) {
      const names = migrationsByService[service].map((m) => m.name);
      expect(await migrateLatest(knex, service)).to.deep.equal(names);
      expect(await migrationStatus(knex, service)).to.deep.equal({ applied: names, pending: [] });
      expect(await migrateLatest(knex, service)).to.deep.equal([]);
      expect([...(await rollbackAll(knex, service))].sort()).to.deep.equal([...names].sort());
      expect(await migrationStatus(knex, service)).to.deep.equal({ applied: [], pending: names });
    }
  });

  it('keeps two services in one database apart, each with its own migrations and lock table', async () => {
    const { knex } = db();
    await migrateLatest(knex, 'ns');
    await knex.migrate.latest(migratorConfigFor('sfs', otherService));
    expect(await migrationNames(knex, 'knex_migrations_ns')).to.deep.equal(nsNames);
    expect(await migrationNames(knex, 'knex_migrations_sfs')).to.deep.equal(['0001_things']);
    for (const table of ['knex_migrations_ns_lock', 'knex_migrations_sfs_lock']) {
      expect(await knex.schema.hasTable(table), table).to.equal(true);
    }
    // A service only ever sees its own list: NS status is not confused by SFS's applied migration.
    expect(await migrationStatus(knex, 'ns')).to.deep.equal({
      applied: nsNames,
      pending: [],
    });

    await rollbackAll(knex, 'ns');
    expect(await knex.schema.hasTable('ns_virtual_servers')).to.equal(false);
    expect(await knex.schema.hasTable('sfs_test_things')).to.equal(true);
    expect(await migrationNames(knex, 'knex_migrations_sfs')).to.deep.equal(['0001_things']);
  });

  it('lets instances that start together migrate once, the others waiting and then finding nothing to do', async () => {
    const { dialect, knex } = db();
    // From a database that has never seen NS, so the instances also race to create knex's own tables.
    await knex.schema.dropTableIfExists('knex_migrations_ns');
    await knex.schema.dropTableIfExists('knex_migrations_ns_lock');
    // SQLite: one handle, as in production (one connection per process; see databases.ts).
    const handles = Array.from({ length: 5 }, () => (dialect === 'sqlite' ? knex : db().open({ max: 2 })));
    const results = await Promise.all(handles.map((h) => migrateLatest(h, 'ns')));
    expect(results.filter((r) => r.length > 0)).to.deep.equal([nsNames]);
    expect(await migrationNames(knex, 'knex_migrations_ns')).to.deep.equal(nsNames);
    expect(await knex('knex_migrations_ns_lock').select('is_locked')).to.deep.equal([{ is_locked: 0 }]);
  });

  it('gives up with a clear message when a crashed run left the lock', async () => {
    const { knex } = db();
    await migrateLatest(knex, 'ns');
    await rollbackAll(knex, 'ns');
    await knex('knex_migrations_ns_lock').update({ is_locked: 1 });
    try {
      const err = await migrateLatest(knex, 'ns', { lockWaitMs: 300 }).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(err?.message).to.contain('knex_migrations_ns_lock');
    } finally {
      await knex('knex_migrations_ns_lock').update({ is_locked: 0 });
    }
  });

  it('refuses a list with a duplicate name', () => {
    const [first] = otherService;
    if (!first) throw new Error('fixture');
    expect(() => migratorConfigFor('sfs', [first, first])).to.throw('duplicate migration name');
  });
});
