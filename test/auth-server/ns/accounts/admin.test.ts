// Account management on every database: the filtered keyset-paged list (ties in creation time, 3,000
// accounts paged exactly once), userids compared exactly (MariaDB too), block/unblock raced across
// connections recorded once, moves and descriptions, delete one and all of a user's with an event each.
import { expect } from 'chai';
import type { Knex } from 'knex';
import { ZodError } from 'zod';
import { FixedClock, systemRandom } from '../../../../auth-server/common/clock.js';
import { migrateLatest } from '../../../../auth-server/common/db/migrate.js';
import { InvalidMarkerError } from '../../../../auth-server/common/paging/marker.js';
import {
  type AccountAdminService,
  createAccountAdminService,
} from '../../../../auth-server/ns/accounts/admin.js';
import type { AccountQuery } from '../../../../auth-server/ns/accounts/model.js';
import {
  type AccountRepository,
  createAccountRepository,
} from '../../../../auth-server/ns/accounts/repository.js';
import { type AuditService, createAuditService } from '../../../../auth-server/ns/audit/service.js';
import type { VirtualServer } from '../../../../auth-server/ns/servers/model.js';
import { createVirtualServerRepository } from '../../../../auth-server/ns/servers/repository.js';
import { describeEachDatabase } from '../../common/db/databases.js';

const by = { actor: { kind: 'apikey' as const, id: 'k-ops' }, ip: '203.0.113.9', userAgent: null };
const jwk = JSON.stringify({
  kty: 'EC',
  crv: 'P-256',
  x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
  y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
});

describeEachDatabase('ns account management', (db) => {
  const clock = new FixedClock(Date.UTC(2026, 2, 1, 12));
  let server: VirtualServer;
  let other: VirtualServer;
  let repo: AccountRepository;
  let audit: AuditService;
  let admin: AccountAdminService;
  let seq = 0;

  before(() => migrateLatest(db().knex, 'ns'));
  beforeEach(async () => {
    const { knex } = db();
    await knex('ns_virtual_servers').del();
    const servers = createVirtualServerRepository(knex, clock);
    server = await servers.create({ name: 'acme', displayName: 'ACME' });
    other = await servers.create({ name: 'other', displayName: 'Other' });
    repo = createAccountRepository(knex);
    audit = createAuditService({ db: knex, clock, random: systemRandom });
    admin = createAccountAdminService({ db: knex, clock, audit });
  });

  const row = (userid: string, serverId: string, createdAt: number) => {
    seq++;
    const id = `a${String(seq).padStart(7, '0')}`;
    return {
      id,
      server_id: serverId,
      userid,
      public_jwk: jwk,
      key_thumbprint: id.padEnd(43, 't'),
      app_instance_id: `inst-${id}`,
      sfs_issuer: 'https://id.example/sfs',
      created_at: createdAt,
    };
  };
  const enrol = async (userid: string, serverId = server.id, createdAt = clock.now()) => {
    const r = row(userid, serverId, createdAt);
    await db().knex('ns_accounts').insert(r);
    return r.id;
  };

  /** Every page of a query, in order. */
  async function all(query: AccountQuery): Promise<string[]> {
    const out: string[] = [];
    let marker: string | undefined;
    for (let i = 0; i < 1000; i++) {
      const page = await repo.list(server.id, { ...query, ...(marker !== undefined && { marker }) });
      out.push(...page.accounts.map((a) => a.id));
      if (page.nextMarker === null) return out;
      marker = page.nextMarker;
    }
    throw new Error('paging did not end');
  }

  const events = async (type?: string) =>
    (await audit.query({ serverId: server.id, subject: { kind: 'account' }, order: 'asc' })).events.filter(
      (e) => type === undefined || e.type === type,
    );

  it('pages 3,000 accounts exactly once in (created, id) order, with and without filters', async function () {
    this.timeout(120_000);
    const base = Date.UTC(2026, 2, 1);
    // 50 accounts share each creation time (inserted out of order): the id must break the ties.
    const rows = Array.from({ length: 3000 }, (_, i) =>
      row(i % 3 === 0 ? 'alice' : `user-${i % 7}`, server.id, base + Math.floor(((i * 7) % 3000) / 50)),
    );
    const blocked = new Set(rows.filter((_, i) => i % 10 === 0).map((r) => r.id));
    for (const r of rows) if (blocked.has(r.id)) Object.assign(r, { blocked_at: base });
    const knex: Knex = db().knex;
    for (let i = 0; i < rows.length; i += 300) await knex('ns_accounts').insert(rows.slice(i, i + 300));
    await knex('ns_accounts').insert(row('alice', other.id, base));
    const expected = (keep: (r: (typeof rows)[number]) => boolean) =>
      rows
        .filter(keep)
        .sort((a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : 1))
        .map((r) => r.id);
    expect(await all({ limit: 1000 })).to.deep.equal(expected(() => true));
    expect(await all({ limit: 7, userid: 'alice' })).to.deep.equal(expected((r) => r.userid === 'alice'));
    expect(await all({ limit: 100, blocked: true })).to.deep.equal(expected((r) => blocked.has(r.id)));
    expect(await all({ limit: 999, blocked: false, userid: 'user-3' })).to.deep.equal(
      expected((r) => !blocked.has(r.id) && r.userid === 'user-3'),
    );
  });

  it('compares userids exactly (case, inner spaces, non-ASCII) on every database', async () => {
    // Not trailing spaces: MariaDB's utf8mb4_bin pads (as for every exactString column, docs/decisions.md).
    const ids = [await enrol('alice'), await enrol('Alice'), await enrol('al ice'), await enrol('ålice')];
    for (const [i, userid] of ['alice', 'Alice', 'al ice', 'ålice'].entries())
      expect(await all({ userid }), userid).to.deep.equal([ids[i]]);
    expect(await admin.deleteAllOf(server, 'ALICE', by)).to.equal(0);
    expect(await admin.deleteAllOf(server, 'Alice', by)).to.equal(1);
    expect(await all({})).to.deep.equal([ids[0], ids[2], ids[3]]);
  });

  it('refuses bad markers and limits', async () => {
    await enrol('alice');
    await enrol('alice');
    const page = await repo.list(server.id, { limit: 1 });
    expect(page.nextMarker).to.be.a('string');
    for (const marker of [
      'not-a-marker',
      '%%%',
      'A'.repeat(129),
      Buffer.from('{"v":2}').toString('base64url'),
    ])
      expect(await repo.list(server.id, { marker }).catch((e: unknown) => e), marker).to.be.instanceOf(
        InvalidMarkerError,
      );
    for (const limit of [0, 1001, 1.5])
      expect(await repo.list(server.id, { limit }).catch((e: unknown) => e)).to.be.instanceOf(RangeError);
  });

  it('block and unblock race across connections: one change, one event each; others see unchanged', async () => {
    const { dialect, knex } = db();
    const id = await enrol('alice');
    // On SQLite one handle (better-sqlite3 waits for locks synchronously); elsewhere several connections.
    const handles = dialect === 'sqlite' ? [knex, knex, knex] : [1, 2, 3].map(() => db().open({ max: 3 }));
    const admins = handles.map((h) =>
      createAccountAdminService({
        db: h,
        clock,
        audit: createAuditService({ db: h, clock, random: systemRandom }),
      }),
    );
    const race = (op: 'block' | 'unblock') =>
      Promise.all(
        Array.from({ length: 9 }, (_, i) =>
          (admins[i % admins.length] as AccountAdminService)[op](server, id, by),
        ),
      );
    const blocks = await race('block');
    expect(blocks.filter((r) => r?.changed)).to.have.length(1);
    expect(new Set(blocks.map((r) => r?.account.blockedAt?.getTime())).size).to.equal(1);
    expect(await events('account.blocked')).to.have.length(1);
    clock.advance(1000);
    const unblocks = await race('unblock');
    expect(unblocks.filter((r) => r?.changed)).to.have.length(1);
    expect(unblocks.every((r) => r?.account.blockedAt === null)).to.equal(true);
    expect(await events('account.unblocked')).to.have.length(1);
    const [blockedEvent] = await events('account.blocked');
    expect(blockedEvent).to.deep.include({
      actor: { kind: 'apikey', id: 'k-ops' },
      subject: { kind: 'account', id },
      ip: '203.0.113.9',
      details: { userid: 'alice' },
    });
    // Another server's account is not there for this server.
    const theirs = await enrol('alice', other.id);
    expect(await admin.block(server, theirs, by)).to.equal(undefined);
    expect(await admin.unblock(server, 'nope', by)).to.equal(undefined);
    expect((await repo.load(theirs)).blockedAt).to.equal(null);
  });

  it('update moves and describes; the same values again record nothing; bad input changes nothing', async () => {
    const id = await enrol('alice');
    const moved = await admin.update(server, id, { userid: 'bob', description: 'Work phone' }, by);
    expect(moved?.changed).to.equal(true);
    expect(await repo.load(id)).to.deep.include({ userid: 'bob', description: 'Work phone' });
    expect((await admin.update(server, id, { userid: 'bob' }, by))?.changed).to.equal(false);
    const [e, ...rest] = await events('account.updated');
    expect(rest).to.deep.equal([]);
    expect(e?.details).to.deep.equal({
      changed: ['userid', 'description'],
      userid: 'bob',
      previousUserid: 'alice',
      description: 'Work phone',
    });
    for (const bad of [{}, { description: 'x'.repeat(101) }, { userid: '' }, { extra: 1 }])
      expect(await admin.update(server, id, bad as never, by).catch((err: unknown) => err)).to.be.instanceOf(
        ZodError,
      );
    expect(await admin.update(other, id, { userid: 'carol' }, by)).to.equal(undefined);
    expect(await repo.load(id)).to.deep.include({ userid: 'bob', description: 'Work phone' });
    expect(await events('account.updated')).to.have.length(1);
  });

  it("deletes one account, or all of a user's on the server, each recorded; concurrent deletes count once", async () => {
    const { dialect, knex } = db();
    const [a1, a2, a3] = [await enrol('alice'), await enrol('alice'), await enrol('alice')];
    const bobs = await enrol('bob');
    const theirs = await enrol('alice', other.id);
    expect((await admin.delete(server, a1 ?? '', by))?.id).to.equal(a1);
    expect(await admin.delete(server, a1 ?? '', by)).to.equal(undefined);
    expect(await admin.delete(server, theirs, by)).to.equal(undefined);
    const handles = dialect === 'sqlite' ? [knex, knex] : [db().open({ max: 2 }), db().open({ max: 2 })];
    const counts = await Promise.all(
      handles.map((h) =>
        createAccountAdminService({
          db: h,
          clock,
          audit: createAuditService({ db: h, clock, random: systemRandom }),
        }).deleteAllOf(server, 'alice', by),
      ),
    );
    expect(counts.reduce((x, y) => x + y, 0)).to.equal(2);
    const deleted = await events('account.deleted');
    expect(deleted.map((x) => x.subject.id)).to.have.members([a1, a2, a3]);
    expect(deleted.find((x) => x.subject.id === a2)?.details).to.deep.equal({
      userid: 'alice',
      keyThumbprint: a2?.padEnd(43, 't'),
    });
    const left = (await knex('ns_accounts').select('id').orderBy('id')).map((r: { id: string }) => r.id);
    expect(left).to.deep.equal([bobs, theirs].sort());
    expect(await admin.deleteAllOf(server, 'u'.repeat(256), by).catch((e: unknown) => e)).to.be.instanceOf(
      ZodError,
    );
  });

  it('keeps last_push_at null through enrolment reads and writes (until push login exists)', async () => {
    const id = await enrol('alice');
    expect((await repo.load(id)).lastPushAt).to.equal(null);
    await db().knex('ns_accounts').where({ id }).update({ last_push_at: clock.now() });
    expect((await admin.get(server, id))?.lastPushAt?.getTime()).to.equal(clock.now());
  });
});
