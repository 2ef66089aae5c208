// Virtual server repository on every database: CRUD, typed errors, validation, and concurrent ensure.
import { expect } from 'chai';
import type { Knex } from 'knex';
import { ZodError } from 'zod';
import { FixedClock } from '../../../../auth-server/common/clock.js';
import { ConflictError, NotFoundError } from '../../../../auth-server/common/db/errors.js';
import { migrateLatest } from '../../../../auth-server/common/db/migrate.js';
import type { NewVirtualServer } from '../../../../auth-server/ns/servers/model.js';
import {
  createVirtualServerRepository,
  type VirtualServerRepository,
} from '../../../../auth-server/ns/servers/repository.js';
import { describeEachDatabase } from '../../common/db/databases.js';

const defaultPolicy = {
  pinAttempts: 5,
  lockoutSeconds: 300,
  maxLockoutSeconds: 86_400,
  blockAfterLockouts: 5,
  loginTimeoutSeconds: 120,
  transactionTimeoutSeconds: 300,
  transactionPinAlways: false,
  transactionsPerMinute: 10,
  maxOpenTransactions: 5,
  pushesPerMinute: 5,
  maxOpenPushes: 3,
  clientPushesPerMinute: 3,
  notMe: 'block_push',
  notMeBlockSeconds: 3600,
};

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );
}

describeEachDatabase('virtual server repository', (db) => {
  let clock: FixedClock;
  let repo: VirtualServerRepository;
  const rowCount = async (knex: Knex) => Number((await knex('ns_virtual_servers').count({ n: '*' }))[0]?.n);

  before(() => migrateLatest(db().knex, 'ns'));
  beforeEach(async () => {
    await db().knex('ns_virtual_servers').del();
    clock = new FixedClock(Date.UTC(2026, 2, 1, 12));
    repo = createVirtualServerRepository(db().knex, clock);
  });

  it('creates with the default policy and loads it back', async () => {
    const created = await repo.create({ name: 'acme', displayName: 'ACME Corp' });
    expect(created.id).to.match(/^[A-Za-z0-9_-]{22}$/);
    expect(created).to.deep.include({ name: 'acme', displayName: 'ACME Corp', policy: defaultPolicy });
    expect(created.createdAt.getTime()).to.equal(clock.now());
    expect(await repo.getByName('acme')).to.deep.equal(created);
    expect(await repo.findByName('acme')).to.deep.equal(created);
  });

  it('keeps explicit policy values and fills the others from defaults', async () => {
    const created = await repo.create({ name: 'bank', displayName: 'Bank', policy: { pinAttempts: 3 } });
    expect(created.policy).to.deep.equal({ ...defaultPolicy, pinAttempts: 3 });
    expect((await repo.getByName('bank')).policy).to.deep.equal(created.policy);
  });

  it('lists servers by name', async () => {
    await repo.create({ name: 'zeta', displayName: 'Z' });
    await repo.create({ name: 'alpha', displayName: 'A' });
    expect((await repo.list()).map((s) => s.name)).to.deep.equal(['alpha', 'zeta']);
  });

  it('refuses a taken name with ConflictError and changes nothing', async () => {
    const first = await repo.create({ name: 'acme', displayName: 'First' });
    const err = await rejection(
      repo.create({ name: 'acme', displayName: 'Second', policy: { pinAttempts: 9 } }),
    );
    expect(err).to.be.instanceOf(ConflictError).and.include({ code: 'CONFLICT', key: 'acme' });
    expect(await repo.list()).to.deep.equal([first]);
  });

  it('throws NotFoundError for unknown names, findByName returns undefined', async () => {
    expect(await repo.findByName('ghost')).to.equal(undefined);
    for (const attempt of [
      repo.getByName('ghost'),
      repo.update('ghost', { displayName: 'x' }),
      repo.delete('ghost'),
    ]) {
      expect(await rejection(attempt))
        .to.be.instanceOf(NotFoundError)
        .and.include({ entity: 'virtual server', id: 'ghost' });
    }
  });

  const invalid: Array<[string, unknown]> = [
    ['upper-case name', { name: 'Acme', displayName: 'x' }],
    ['name with a dot', { name: 'a.b', displayName: 'x' }],
    ['leading hyphen', { name: '-a', displayName: 'x' }],
    ['64-character name', { name: 'a'.repeat(64), displayName: 'x' }],
    ['empty display name', { name: 'ok', displayName: '  ' }],
    ['zero PIN attempts', { name: 'ok', displayName: 'x', policy: { pinAttempts: 0 } }],
    ['fractional lockout', { name: 'ok', displayName: 'x', policy: { lockoutSeconds: 1.5 } }],
    ['string timeout', { name: 'ok', displayName: 'x', policy: { loginTimeoutSeconds: '120' } }],
    ['unknown policy key', { name: 'ok', displayName: 'x', policy: { pinAtempts: 3 } }],
    ['unknown field', { name: 'ok', displayName: 'x', admin: true }],
  ];
  for (const [what, input] of invalid) {
    it(`rejects ${what} and stores nothing`, async () => {
      expect(await rejection(repo.create(input as NewVirtualServer))).to.be.instanceOf(ZodError);
      expect(await rowCount(db().knex)).to.equal(0);
    });
  }

  it('updates the display name and merges policy keys, moving updatedAt only', async () => {
    const created = await repo.create({ name: 'acme', displayName: 'ACME', policy: { lockoutSeconds: 60 } });
    clock.advance(5000);
    const updated = await repo.update('acme', { displayName: 'ACME Inc.', policy: { pinAttempts: 3 } });
    expect(updated).to.deep.include({
      id: created.id,
      displayName: 'ACME Inc.',
      createdAt: created.createdAt,
    });
    expect(updated.policy).to.deep.equal({ ...defaultPolicy, pinAttempts: 3, lockoutSeconds: 60 });
    expect(updated.updatedAt.getTime()).to.equal(created.createdAt.getTime() + 5000);
    expect(await repo.getByName('acme')).to.deep.equal(updated);
  });

  it('merges concurrent updates of different policy keys without losing one', async () => {
    await repo.create({ name: 'acme', displayName: 'ACME' });
    // On SQLite one handle: better-sqlite3 waits for a lock synchronously, so a second in-process
    // connection would block the event loop while the first holds its transaction open.
    const { dialect, knex } = db();
    const [a, b] = dialect === 'sqlite' ? [knex, knex] : [db().open({ max: 2 }), db().open({ max: 2 })];
    const patches = [{ pinAttempts: 3 }, { lockoutSeconds: 60 }, { loginTimeoutSeconds: 30 }];
    await Promise.all(
      patches.map((policy, i) =>
        createVirtualServerRepository(i % 2 ? a : b, clock).update('acme', { policy }),
      ),
    );
    expect((await repo.getByName('acme')).policy).to.deep.equal({
      ...defaultPolicy,
      pinAttempts: 3,
      lockoutSeconds: 60,
      loginTimeoutSeconds: 30,
    });
  });

  it('rejects an invalid update and keeps the stored server', async () => {
    const created = await repo.create({ name: 'acme', displayName: 'ACME' });
    for (const patch of [{ policy: { pinAttempts: -1 } }, { displayName: '' }, { name: 'other' }]) {
      expect(await rejection(repo.update('acme', patch as never))).to.be.instanceOf(ZodError);
    }
    expect(await repo.getByName('acme')).to.deep.equal(created);
  });

  it('deletes', async () => {
    await repo.create({ name: 'acme', displayName: 'ACME' });
    await repo.delete('acme');
    expect(await repo.findByName('acme')).to.equal(undefined);
    expect(await rejection(repo.delete('acme'))).to.be.instanceOf(NotFoundError);
  });

  it('stores logo and allowed apps, and reads rows from before they existed with defaults', async () => {
    const publisherKey = {
      kty: 'EC' as const,
      crv: 'P-256' as const,
      x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
      y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
    };
    const created = await repo.create({
      name: 'acme',
      displayName: 'ACME',
      logo: 'https://cdn.example/acme.png',
      allowedApps: [{ name: 'Demo', publisherKey }],
    });
    expect(await repo.getByName('acme')).to.deep.equal(created);
    expect(created.allowedApps).to.deep.equal([{ name: 'Demo', publisherKey }]);
    // A row written before migration 0006 and before the newer policy keys.
    await db()
      .knex('ns_virtual_servers')
      .where({ name: 'acme' })
      .update({
        logo: null,
        allowed_apps: null,
        policy: JSON.stringify({ pinAttempts: 3, lockoutSeconds: 0 }),
      });
    const old = await repo.getByName('acme');
    expect(old).to.deep.include({ logo: null, allowedApps: [] });
    expect(old.policy).to.deep.equal({ ...defaultPolicy, pinAttempts: 3, lockoutSeconds: 0 });
  });

  it('rolls a write back when its inTransaction step fails (create, update, delete)', async () => {
    const fail = async () => {
      throw new Error('audit down');
    };
    const created = await repo.create({ name: 'acme', displayName: 'ACME' });
    await rejection(repo.create({ name: 'bank', displayName: 'Bank' }, { inTransaction: fail }));
    expect(await repo.findByName('bank')).to.equal(undefined);
    await rejection(repo.update('acme', { displayName: 'Changed' }, { inTransaction: fail }));
    await rejection(repo.delete('acme', { inTransaction: fail }));
    expect(await repo.getByName('acme')).to.deep.equal(created);
    let seen: unknown[] = [];
    await repo.update(
      'acme',
      { policy: { pinAttempts: 4 } },
      {
        inTransaction: async (after, _trx, before) => {
          seen = [before?.policy.pinAttempts, after.policy.pinAttempts];
        },
      },
    );
    expect(seen).to.deep.equal([5, 4]);
  });

  it('ensure returns an existing server unchanged', async () => {
    const created = await repo.create({ name: 'default', displayName: 'Mine', policy: { pinAttempts: 7 } });
    expect(await repo.ensure({ name: 'default', displayName: 'nextAuth' })).to.deep.equal(created);
  });

  it('ensure raced by 10 callers on separate connections creates exactly one server', async () => {
    const handles = Array.from({ length: 5 }, () => db().open({ min: 2, max: 2 }));
    await Promise.all(handles.map((h) => h.raw('select 1')));
    const repos = handles.map((h) => createVirtualServerRepository(h, clock));
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (repos[i % repos.length] as VirtualServerRepository).ensure({
          name: 'default',
          displayName: 'nextAuth',
        }),
      ),
    );
    expect(await rowCount(db().knex)).to.equal(1);
    expect(new Set(results.map((s) => s.id)).size).to.equal(1);
  });
});
