// The audit log's storage and service on every database: append and read back, each filter, keyset paging
// that stays stable while events are appended, markers, the export stream, credential-free details, events
// that commit or roll back with the caller's transaction, and no way to change or remove a stored event.
import { expect } from 'chai';
import type { Knex } from 'knex';
import { ZodError } from 'zod';
import { FixedClock, systemRandom } from '../../../../auth-server/common/clock.js';
import { migrateLatest } from '../../../../auth-server/common/db/migrate.js';
import { AuditError } from '../../../../auth-server/ns/audit/errors.js';
import { encodeMarker } from '../../../../auth-server/ns/audit/marker.js';
import {
  type AuditEvent,
  type NewAuditEvent,
  namesCredential,
} from '../../../../auth-server/ns/audit/model.js';
import { auditTable, createAuditRepository } from '../../../../auth-server/ns/audit/repository.js';
import { type AuditService, createAuditService } from '../../../../auth-server/ns/audit/service.js';
import { describeEachDatabase } from '../../common/db/databases.js';

const t0 = Date.UTC(2026, 2, 1, 12, 0, 0);

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err as Error,
  );
}

describeEachDatabase('ns audit log storage', (db) => {
  let knex: Knex;
  let clock: FixedClock;
  let audit: AuditService;
  /** Each test writes under its own server id, so tests on one database never see each other's rows. */
  let server: { id: string; name: string };
  let seq = 0;

  before(() => migrateLatest(db().knex, 'ns'));
  beforeEach(() => {
    knex = db().knex;
    clock = new FixedClock(t0);
    audit = createAuditService({ db: knex, clock, random: systemRandom });
    seq++;
    server = { id: `srv-${seq}-${Date.now().toString(36)}`, name: `s${seq}-${Date.now().toString(36)}` };
  });

  const event = (overrides: Partial<NewAuditEvent> = {}): NewAuditEvent => ({
    type: 'session.login',
    server,
    actor: { kind: 'account', id: 'acct-1' },
    subject: { kind: 'user', id: 'alice' },
    ip: '198.51.100.7',
    userAgent: 'nextauth-test',
    details: { session: 'sess-1' },
    ...overrides,
  });

  /** `n` events one millisecond apart, returned in the order they were recorded. */
  const recordMany = async (n: number, overrides: Partial<NewAuditEvent> = {}) => {
    const out: AuditEvent[] = [];
    for (let i = 0; i < n; i++) {
      out.push(await audit.record(event({ details: { i }, ...overrides })));
      clock.advance(1);
    }
    return out;
  };

  const ids = (events: readonly AuditEvent[]) => events.map((e) => e.id);

  it('appends an event and reads it back exactly, with a hex id and the clock time', async () => {
    const recorded = await audit.record(event());
    expect(recorded.id).to.match(/^[0-9a-f]{32}$/);
    expect(recorded.time).to.equal(t0);
    const { events, nextMarker } = await audit.query({ serverId: server.id });
    expect(events).to.deep.equal([
      {
        id: recorded.id,
        time: t0,
        type: 'session.login',
        server,
        actor: { kind: 'account', id: 'acct-1' },
        subject: { kind: 'user', id: 'alice' },
        ip: '198.51.100.7',
        userAgent: 'nextauth-test',
        details: { session: 'sess-1' },
      },
    ]);
    expect(nextMarker).to.equal(null);
  });

  it('keeps NS-wide events (no server), null ip and user agent, and caps the user agent at 512', async () => {
    const e = await audit.record({
      type: 'apikey.created',
      server: null,
      actor: { kind: 'apikey', id: 'root' },
      subject: { kind: 'apikey', id: `k-${seq}` },
      userAgent: 'x'.repeat(4000),
    });
    expect(e.userAgent).to.have.length(512);
    const [read] = (await audit.query({ subject: { kind: 'apikey', id: `k-${seq}` } })).events;
    expect(read).to.deep.include({ server: null, ip: null, details: {} });
    expect(read?.userAgent).to.have.length(512);
  });

  it('keeps the key the root key acted as (X-su) in details.actingAs; the actor stays root', async () => {
    const e = await audit.record(
      event({ actor: { kind: 'apikey', id: 'root' }, actingAs: 'k-backend', details: { ttlSeconds: 60 } }),
    );
    expect(e.actor).to.deep.equal({ kind: 'apikey', id: 'root' });
    expect(e.details).to.deep.equal({ ttlSeconds: 60, actingAs: 'k-backend' });
    const [read] = (await audit.query({ serverId: server.id })).events;
    expect(read?.details).to.deep.equal({ ttlSeconds: 60, actingAs: 'k-backend' });
  });

  it('filters by server id or name, type list, actor and subject (kind or kind:id), since and until', async () => {
    await audit.record(event());
    clock.advance(10);
    await audit.record(event({ type: 'session.declined', subject: { kind: 'user', id: 'Alice' } }));
    clock.advance(10);
    await audit.record(event({ type: 'enrol_link.created', actor: { kind: 'apikey', id: 'root' } }));
    clock.advance(10);
    await audit.record(event({ server: { id: `${server.id}x`, name: `${server.name}x` } }));
    const types = async (filter: Parameters<AuditService['query']>[0]) =>
      (await audit.query({ order: 'asc', ...filter })).events.map((e) => e.type);

    expect(await types({ serverId: server.id })).to.deep.equal([
      'session.login',
      'session.declined',
      'enrol_link.created',
    ]);
    expect(await types({ serverName: server.name })).to.have.length(3);
    expect(await types({ serverName: `${server.name}x` })).to.deep.equal(['session.login']);
    expect(
      await types({ serverId: server.id, types: ['session.declined', 'enrol_link.created'] }),
    ).to.deep.equal(['session.declined', 'enrol_link.created']);
    expect(await types({ serverId: server.id, actor: { kind: 'apikey' } })).to.deep.equal([
      'enrol_link.created',
    ]);
    expect(await types({ serverId: server.id, actor: { kind: 'apikey', id: 'ROOT' } })).to.deep.equal([]);
    // Userids compare exactly, on MariaDB too (binary collation).
    expect(await types({ serverId: server.id, subject: { kind: 'user', id: 'alice' } })).to.deep.equal([
      'session.login',
      'enrol_link.created',
    ]);
    expect(await types({ serverId: server.id, subject: { kind: 'user', id: 'Alice' } })).to.deep.equal([
      'session.declined',
    ]);
    expect(await types({ serverId: server.id, since: t0 + 10 })).to.deep.equal([
      'session.declined',
      'enrol_link.created',
    ]);
    expect(await types({ serverId: server.id, until: t0 + 10 })).to.deep.equal(['session.login']);
    expect(await types({ serverId: server.id, since: t0 + 10, until: t0 + 20 })).to.deep.equal([
      'session.declined',
    ]);
  });

  it('pages newest first with a marker, and stays stable while events are appended between pages', async () => {
    const first = await recordMany(25);
    const seen: AuditEvent[] = [];
    let page = await audit.query({ serverId: server.id, limit: 10 });
    seen.push(...page.events);
    // Five newer events arrive while the reader is on page 1: they are newer than the reader's position.
    await recordMany(5);
    while (page.nextMarker !== null) {
      page = await audit.query({ serverId: server.id, limit: 10, marker: page.nextMarker });
      seen.push(...page.events);
    }
    expect(ids(seen)).to.deep.equal(ids(first).reverse());
    // The last page had 5; a full last page reports no further marker either.
    const exact = await audit.query({ serverId: server.id, limit: 30 });
    expect(exact.events).to.have.length(30);
    expect(exact.nextMarker).to.equal(null);
  });

  it('orders ties of one millisecond by id, so paging never skips or repeats them', async () => {
    const same: AuditEvent[] = [];
    for (let i = 0; i < 12; i++) same.push(await audit.record(event({ details: { i } })));
    const seen: AuditEvent[] = [];
    let marker: string | undefined;
    for (;;) {
      const page = await audit.query({ serverId: server.id, limit: 5, ...(marker ? { marker } : {}) });
      seen.push(...page.events);
      if (page.nextMarker === null) break;
      marker = page.nextMarker;
    }
    expect(ids(seen)).to.deep.equal(ids(same).sort().reverse());
  });

  it('pages oldest first with order=asc; the marker is a position to poll on from', async () => {
    const first = await recordMany(7);
    const p1 = await audit.query({ serverId: server.id, order: 'asc', limit: 5 });
    expect(ids(p1.events)).to.deep.equal(ids(first.slice(0, 5)));
    const p2 = await audit.query({
      serverId: server.id,
      order: 'asc',
      limit: 5,
      marker: p1.nextMarker ?? '',
    });
    expect(ids(p2.events)).to.deep.equal(ids(first.slice(5)));
    expect(p2.nextMarker).to.be.a('string');
    // Nothing new: the same marker comes back, so a poller keeps its place.
    const p3 = await audit.query({ serverId: server.id, order: 'asc', marker: p2.nextMarker ?? '' });
    expect(p3).to.deep.equal({ events: [], nextMarker: p2.nextMarker });
    const later = await recordMany(2);
    const p4 = await audit.query({ serverId: server.id, order: 'asc', marker: p3.nextMarker ?? '' });
    expect(ids(p4.events)).to.deep.equal(ids(later));
    // No match and no marker: nothing to continue from.
    expect(await audit.query({ serverId: `${server.id}-none`, order: 'asc' })).to.deep.equal({
      events: [],
      nextMarker: null,
    });
  });

  it('refuses markers it did not hand out, or of the other order (AuditError invalid_marker)', async () => {
    await recordMany(3);
    const desc = await audit.query({ serverId: server.id, limit: 1 });
    const bad = [
      'not-a-marker',
      '',
      Buffer.from('{"v":1}').toString('base64url'),
      Buffer.from(JSON.stringify({ v: 2, o: 'd', t: 1, i: '0'.repeat(32) })).toString('base64url'),
      Buffer.from(JSON.stringify({ v: 1, o: 'd', t: -1, i: '0'.repeat(32) })).toString('base64url'),
      'a'.repeat(300),
      'bad marker!',
    ];
    for (const marker of bad) {
      const err = await rejection(audit.query({ serverId: server.id, marker }));
      expect(err, marker).to.be.instanceOf(AuditError).with.property('code', 'invalid_marker');
    }
    const wrongOrder = await rejection(
      audit.query({ serverId: server.id, order: 'asc', marker: desc.nextMarker ?? '' }),
    );
    expect(wrongOrder).to.be.instanceOf(AuditError);
    expect(wrongOrder.message).to.contain('order=desc');
    expect(await rejection(audit.query({ limit: 0 }))).to.be.instanceOf(RangeError);
    expect(await rejection(audit.query({ limit: 1001 }))).to.be.instanceOf(RangeError);
    // A well-formed marker is only a position: it never widens the filter.
    const crafted = encodeMarker({ time: Number.MAX_SAFE_INTEGER, id: 'f'.repeat(32) }, 'desc');
    const page = await audit.query({ serverId: server.id, marker: crafted });
    expect(page.events.every((e) => e.server?.id === server.id)).to.equal(true);
  });

  it('exports every matching event oldest first in batches, bounded by the moment it started', async () => {
    const recorded = await recordMany(23, { type: 'account.enrolled' });
    await recordMany(2, { type: 'session.logout' });
    const out: AuditEvent[] = [];
    const stream = audit.export({ serverId: server.id, types: ['account.enrolled'] }, { batchSize: 5 });
    for await (const e of stream) {
      out.push(e);
      // Appended during the export, a millisecond after it started: not part of it.
      if (out.length === 1) {
        clock.advance(1);
        await recordMany(3, { type: 'account.enrolled' });
      }
    }
    expect(ids(out)).to.deep.equal(ids(recorded));
    const all: AuditEvent[] = [];
    for await (const e of audit.export({ serverId: server.id }, { batchSize: 1000 })) all.push(e);
    expect(all).to.have.length(28);
  });

  it('refuses details that name credentials, nested values, or too much, storing nothing', async () => {
    const refused: NewAuditEvent['details'][] = [
      { pin: '1234' },
      { token: 'x' },
      { enrol_token: 'x' },
      { tokenHash: 'x' },
      { nonce: 'x' },
      { code: 'x' },
      { attestation: 'x' },
      { apiKey: 'x' },
      { privateJwk: 'x' },
      { clientSecret: 'x' },
      { key: 'x' },
      { nested: { a: 1 } } as never,
      Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, i])),
      { long: 'x'.repeat(1025) },
      { 'bad key': 1 },
    ];
    for (const details of refused) {
      const err = await rejection(audit.record(event({ details })));
      expect(err, JSON.stringify(details).slice(0, 80)).to.be.instanceOf(ZodError);
    }
    const err = await rejection(audit.record(event({ type: 'session.hacked' as never })));
    expect(err).to.be.instanceOf(ZodError);
    expect((await audit.query({ serverId: server.id })).events).to.deep.equal([]);
    // Ids and fingerprints are fine.
    for (const ok of ['keyThumbprint', 'keyId', 'pinAttempts', 'session', 'reason', 'appInstance'])
      expect(namesCredential(ok), ok).to.equal(false);
  });

  it('commits with the caller’s transaction and leaves nothing when it rolls back', async () => {
    await knex.transaction(async (trx) => {
      await audit.record(event({ details: { n: 1 } }), trx);
    });
    await rejection(
      knex.transaction(async (trx) => {
        await audit.record(event({ details: { n: 2 } }), trx);
        throw new Error('the change failed');
      }),
    );
    const { events } = await audit.query({ serverId: server.id });
    expect(events.map((e) => e.details)).to.deep.equal([{ n: 1 }]);
  });

  it('offers no update or delete: the repository has only append and find', () => {
    expect(Object.keys(createAuditRepository(knex)).sort()).to.deep.equal(['append', 'find']);
    expect(Object.keys(audit).sort()).to.deep.equal(['export', 'query', 'record']);
  });

  it('refuses UPDATE and DELETE in storage with a trigger (MariaDB: where the server lets a migration create one)', async () => {
    const e = await audit.record(event());
    const update = knex(auditTable).where({ id: e.id }).update({ subject_id: 'mallory' });
    const del = knex(auditTable).where({ id: e.id }).del();
    for (const attempt of [update, del]) {
      const err = await rejection(attempt);
      expect(err.message).to.contain('append-only');
    }
    if (db().dialect === 'postgres') {
      expect((await rejection(knex.raw(`truncate ${auditTable}`))).message).to.contain('append-only');
    }
    const [read] = (await audit.query({ serverId: server.id })).events;
    expect(read?.subject.id).to.equal('alice');
  });
});
