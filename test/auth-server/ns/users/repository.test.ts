// Users on every database: profiles with attribute and group rows, filters, prefix search, the four sorts
// with keyset paging (10,000 users paged through exactly once), concurrent writes, delete with accounts.
import { expect } from 'chai';
import type { Knex } from 'knex';
import { FixedClock, systemRandom } from '../../../../auth-server/common/clock.js';
import { migrateLatest } from '../../../../auth-server/common/db/migrate.js';
import { createAuditService } from '../../../../auth-server/ns/audit/service.js';
import type { VirtualServer } from '../../../../auth-server/ns/servers/model.js';
import { createVirtualServerRepository } from '../../../../auth-server/ns/servers/repository.js';
import { InvalidMarkerError } from '../../../../auth-server/ns/users/marker.js';
import type { User, UserQuery, UserSort } from '../../../../auth-server/ns/users/model.js';
import { createUserRepository, type UserRepository } from '../../../../auth-server/ns/users/repository.js';
import { createUserService, type UserService } from '../../../../auth-server/ns/users/service.js';
import { describeEachDatabase } from '../../common/db/databases.js';

const by = { actor: { kind: 'apikey' as const, id: 'root' }, ip: null, userAgent: null };

describeEachDatabase('ns users', (db) => {
  const clock = new FixedClock(Date.UTC(2026, 2, 1, 12));
  let server: VirtualServer;
  let other: VirtualServer;
  let repo: UserRepository;
  let service: UserService;

  before(() => migrateLatest(db().knex, 'ns'));
  beforeEach(async () => {
    await db().knex('ns_virtual_servers').del();
    const servers = createVirtualServerRepository(db().knex, clock);
    server = await servers.create({ name: 'acme', displayName: 'ACME' });
    other = await servers.create({ name: 'other', displayName: 'Other' });
    repo = createUserRepository(db().knex);
    service = createUserService({
      db: db().knex,
      clock,
      random: systemRandom,
      audit: createAuditService({ db: db().knex, clock, random: systemRandom }),
    });
  });

  /** Every page of a query, in order. */
  async function all(query: UserQuery, serverId = server.id): Promise<User[]> {
    const out: User[] = [];
    let marker: string | undefined;
    for (let i = 0; i < 100; i++) {
      const page = await repo.list(serverId, { ...query, ...(marker !== undefined && { marker }) });
      out.push(...page.users);
      if (page.nextMarker === null) return out;
      marker = page.nextMarker;
    }
    throw new Error('paging did not end');
  }

  it('replaces and merges profiles; attributes and groups round-trip', async () => {
    const created = await service.replace(
      server,
      'alice',
      {
        name: 'Alice',
        email: 'alice@example.com',
        attributes: { dept: 'sales', 'ext.id': '42' },
        groups: ['staff', 'eu'],
      },
      by,
    );
    expect(created.created).to.equal(true);
    const loaded = await service.get(server, 'alice');
    expect(loaded).to.deep.include({ name: 'Alice', email: 'alice@example.com', groups: ['eu', 'staff'] });
    expect(loaded?.attributes).to.deep.equal({ dept: 'sales', 'ext.id': '42' });
    clock.advance(1000);
    const merged = await service.merge(
      server,
      'alice',
      { attributes: { dept: null, level: '3' }, groups: ['staff'] },
      by,
    );
    expect(merged.created).to.equal(false);
    expect(merged.user.createdAt.getTime()).to.equal(loaded?.createdAt.getTime());
    const after = await service.get(server, 'alice');
    expect(after).to.deep.include({ name: 'Alice', groups: ['staff'] });
    expect(after?.attributes).to.deep.equal({ 'ext.id': '42', level: '3' });
    const replaced = await service.replace(server, 'alice', { name: 'A.' }, by);
    expect(replaced.user).to.deep.include({ name: 'A.', email: null, attributes: {}, groups: [] });
    expect(await service.get(other, 'alice')).to.equal(undefined);
    const events = await db().knex('ns_audit_events').where({ subject_id: 'alice', server_id: server.id });
    expect(events.filter((e: { type: string }) => e.type === 'user.updated').length).to.be.at.least(3);
  });

  it('keeps userids exactly: case, spaces, slashes and non-ASCII are different users', async () => {
    for (const userid of ['bob', 'Bob', 'b o b', 'a/b', 'ümit', '用户'])
      await service.merge(server, userid, {}, by);
    expect((await all({})).map((u) => u.userid)).to.have.members([
      'bob',
      'Bob',
      'b o b',
      'a/b',
      'ümit',
      '用户',
    ]);
    expect((await service.get(server, 'BOB'))?.userid).to.equal(undefined);
  });

  it('filters by attributes (AND), name, email and groups (any), and searches prefixes', async () => {
    await service.replace(
      server,
      'alice',
      {
        name: 'Alice Smith',
        email: 'a@x.example',
        attributes: { dept: 'sales', region: 'eu' },
        groups: ['staff'],
      },
      by,
    );
    await service.replace(
      server,
      'bob',
      {
        name: 'Bob',
        email: 'bob@y.example',
        attributes: { dept: 'sales', region: 'us' },
        groups: ['admins'],
      },
      by,
    );
    await service.replace(
      server,
      'carol',
      { name: 'Carol', attributes: { dept: 'it' }, groups: ['staff', 'admins'] },
      by,
    );
    await service.replace(other, 'dave', { attributes: { dept: 'sales' }, groups: ['staff'] }, by);
    const ids = async (q: UserQuery) => (await all(q)).map((u) => u.userid);
    expect(await ids({ attributes: { dept: 'sales' } })).to.deep.equal(['alice', 'bob']);
    expect(await ids({ attributes: { dept: 'sales', region: 'us' } })).to.deep.equal(['bob']);
    expect(await ids({ attributes: { name: 'Carol' } })).to.deep.equal(['carol']);
    expect(await ids({ attributes: { email: 'a@x.example' } })).to.deep.equal(['alice']);
    expect(await ids({ groups: ['admins'] })).to.deep.equal(['bob', 'carol']);
    expect(await ids({ groups: ['staff', 'admins'] })).to.deep.equal(['alice', 'bob', 'carol']);
    expect(await ids({ groups: ['staff'], attributes: { dept: 'it' } })).to.deep.equal(['carol']);
    expect(await ids({ search: 'AL' })).to.deep.equal(['alice']);
    expect(await ids({ search: 'bob@' })).to.deep.equal(['bob']);
    expect(await ids({ search: 'car' })).to.deep.equal(['carol']);
    expect(await ids({ search: '%' })).to.deep.equal([]);
    expect(await ids({ attributes: { dept: 'none' } })).to.deep.equal([]);
  });

  it('sorts by userid and creation time in both directions; a marker is bound to its sort', async () => {
    for (const [i, userid] of ['m', 'c', 'x', 'a', 'q'].entries()) {
      clock.set(Date.UTC(2026, 2, 1, 12) + (i < 3 ? 0 : 1000)); // ties in created_at
      await service.merge(server, userid, {}, by);
    }
    const order = async (sort: UserSort) => (await all({ sort, limit: 2 })).map((u) => u.userid);
    const byUserid = await order('userid');
    expect(byUserid).to.deep.equal(['a', 'c', 'm', 'q', 'x']);
    expect(await order('-userid')).to.deep.equal([...byUserid].reverse());
    const byTime = await order('createdAt');
    expect(byTime.slice(0, 3)).to.have.members(['m', 'c', 'x']);
    expect(byTime.slice(3)).to.have.members(['a', 'q']);
    expect(await order('-createdAt')).to.deep.equal([...byTime].reverse());
    const page = await repo.list(server.id, { sort: 'userid', limit: 1 });
    const err = await repo
      .list(server.id, { sort: 'createdAt', marker: page.nextMarker ?? '' })
      .catch((e: unknown) => e);
    expect(err).to.be.instanceOf(InvalidMarkerError);
    expect(await repo.list(server.id, { marker: 'not-a-marker' }).catch((e: unknown) => e)).to.be.instanceOf(
      InvalidMarkerError,
    );
    expect(await repo.list(server.id, { limit: 1001 }).catch((e: unknown) => e)).to.be.instanceOf(RangeError);
  });

  it('pages through 10,000 users exactly once in each sort', async function () {
    this.timeout(120_000);
    const knex: Knex = db().knex;
    const base = Date.UTC(2026, 2, 1);
    const rows = Array.from({ length: 10_000 }, (_, i) => ({
      id: `u${String(i).padStart(8, '0')}`,
      server_id: server.id,
      userid: `user-${(i * 7919) % 10_000}`,
      name: null,
      email: null,
      // 100 users share each creation time: the id must break the ties.
      created_at: base + Math.floor(i / 100),
      updated_at: base,
    }));
    for (let i = 0; i < rows.length; i += 300) await knex('ns_users').insert(rows.slice(i, i + 300));
    const tenth = rows
      .filter((_, i) => i % 10 === 0)
      .map((r) => ({ user_id: r.id, server_id: server.id, group_name: 'tenth' }));
    for (let i = 0; i < tenth.length; i += 300) await knex('ns_user_groups').insert(tenth.slice(i, i + 300));
    for (const sort of ['userid', '-userid', 'createdAt', '-createdAt'] as const) {
      const users = await all({ sort, limit: 1000 });
      expect(users, sort).to.have.length(10_000);
      expect(new Set(users.map((u) => u.id)).size).to.equal(10_000);
      const expected = await knex('ns_users')
        .select('id')
        .where({ server_id: server.id })
        .orderBy(sort.endsWith('userid') ? 'userid' : 'created_at', sort.startsWith('-') ? 'desc' : 'asc')
        .orderBy('id', sort.startsWith('-') ? 'desc' : 'asc');
      expect(
        users.map((u) => u.id),
        sort,
      ).to.deep.equal(expected.map((r: { id: string }) => r.id));
    }
    expect(await all({ groups: ['tenth'], limit: 300 })).to.have.length(1000);
  });

  it('concurrent merges of one user keep every change; concurrent first writes create one user', async () => {
    const { dialect, knex } = db();
    // On SQLite one handle (better-sqlite3 waits for locks synchronously); elsewhere several connections.
    const handles =
      dialect === 'sqlite'
        ? [knex, knex, knex]
        : [db().open({ max: 2 }), db().open({ max: 2 }), db().open({ max: 2 })];
    const services = handles.map((h) =>
      createUserService({
        db: h,
        clock,
        random: systemRandom,
        audit: createAuditService({ db: h, clock, random: systemRandom }),
      }),
    );
    await Promise.all(
      ['a', 'b', 'c', 'd', 'e', 'f'].map((k, i) =>
        (services[i % services.length] as UserService).merge(
          server,
          'zoe',
          { attributes: { [k]: String(i) } },
          by,
        ),
      ),
    );
    const zoe = await service.get(server, 'zoe');
    expect(Object.keys(zoe?.attributes ?? {}).sort()).to.deep.equal(['a', 'b', 'c', 'd', 'e', 'f']);
    expect(await db().knex('ns_users').where({ server_id: server.id, userid: 'zoe' })).to.have.length(1);
  });

  it('delete removes the profile and every account of the userid; nothing for an unknown user', async () => {
    await service.replace(server, 'alice', { groups: ['staff'], attributes: { dept: 'x' } }, by);
    const account = (id: string, userid: string, serverId = server.id) => ({
      id,
      server_id: serverId,
      userid,
      public_jwk: '{}',
      key_thumbprint: id.padEnd(43, 'x'),
      app_instance_id: 'inst',
      sfs_issuer: 'https://id.example/sfs',
      created_at: clock.now(),
    });
    await db()
      .knex('ns_accounts')
      .insert([
        account('acc1', 'alice'),
        account('acc2', 'alice'),
        account('acc3', 'alice', other.id),
        account('acc4', 'bob'),
      ]);
    expect(await service.delete(server, 'alice', by)).to.deep.equal({ accountsDeleted: 2 });
    expect(await service.get(server, 'alice')).to.equal(undefined);
    expect(
      (await db().knex('ns_accounts').select('id').orderBy('id')).map((r: { id: string }) => r.id),
    ).to.deep.equal(['acc3', 'acc4']);
    expect(await db().knex('ns_user_attributes').where({ server_id: server.id })).to.deep.equal([]);
    // An enrolled user without a profile is a user too.
    expect(await service.delete(server, 'bob', by)).to.deep.equal({ accountsDeleted: 1 });
    expect(await service.delete(server, 'nobody', by)).to.equal(undefined);
  });
});
