// Business events from one place: audit events map to REGISTER / LOGIN / LOGOUT / CANCEL / BLOCK / PINLOCKOUT
// (administrative ones to nothing), an event recorded in a transaction reaches the bus only after the commit
// and never after a rollback, sinks run inside the transaction, and bus messages that are not events are dropped.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Knex } from 'knex';
import { FixedClock, systemRandom } from '../../../../auth-server/common/clock.js';
import { openDb } from '../../../../auth-server/common/db/connect.js';
import { migrateLatest } from '../../../../auth-server/common/db/migrate.js';
import { MemoryKv } from '../../../../auth-server/common/kv/memory.js';
import { createLogger } from '../../../../auth-server/common/logging.js';
import type { AuditEvent, NewAuditEvent } from '../../../../auth-server/ns/audit/model.js';
import { createAuditService } from '../../../../auth-server/ns/audit/service.js';
import { eventsChannel, parseBusinessEvent } from '../../../../auth-server/ns/events/bus.js';
import { type BusinessEvent, fromAuditEvent, toEventWire } from '../../../../auth-server/ns/events/model.js';
import {
  type BusinessEvents,
  createBusinessEvents,
  withBusinessEvents,
} from '../../../../auth-server/ns/events/service.js';

const logger = createLogger({ level: 'silent', format: 'json' });
const server = { id: 'srv1', name: 'acme' };

function audited(overrides: Partial<AuditEvent>): AuditEvent {
  return {
    id: 'a'.repeat(32),
    time: Date.UTC(2026, 2, 1),
    type: 'session.login',
    server,
    actor: { kind: 'account', id: 'acct1' },
    subject: { kind: 'user', id: 'alice' },
    ip: null,
    userAgent: null,
    details: { session: 'sess1' },
    ...overrides,
  };
}

describe('ns business events', () => {
  describe('from audit events', () => {
    it('maps the audited types with session, userid and account', () => {
      expect(fromAuditEvent(audited({}))).to.deep.equal({
        id: 'a'.repeat(32),
        type: 'LOGIN',
        time: Date.UTC(2026, 2, 1),
        server,
        session: 'sess1',
        userid: 'alice',
        account: 'acct1',
      });
      expect(fromAuditEvent(audited({ type: 'session.declined' }))?.type).to.equal('CANCEL');
      expect(
        fromAuditEvent(
          audited({
            type: 'account.enrolled',
            details: { account: 'acct1', keyThumbprint: 'tp' },
          }),
        ),
      ).to.deep.include({ type: 'REGISTER', userid: 'alice', account: 'acct1', session: null });
      expect(
        fromAuditEvent(
          audited({
            type: 'account.blocked',
            actor: { kind: 'apikey', id: 'k1' },
            subject: { kind: 'account', id: 'acct1' },
            details: { userid: 'alice' },
          }),
        ),
      ).to.deep.include({ type: 'BLOCK', userid: 'alice', account: 'acct1' });
      expect(
        fromAuditEvent(
          audited({
            type: 'session.logout',
            actor: { kind: 'apikey', id: 'k1' },
            details: { session: 'sess1', state: 'loggedin', account: 'acct1' },
          }),
        ),
      ).to.deep.include({ type: 'LOGOUT', session: 'sess1', userid: 'alice', account: 'acct1' });
      // As NsPeer.reportPinLockout records it: the SFS acted on the account, the userid in the details.
      expect(
        fromAuditEvent(
          audited({
            type: 'pin.lockout',
            actor: { kind: 'system', id: 'sfs' },
            subject: { kind: 'account', id: 'acct1' },
            details: { userid: 'alice', lockout: 'locked', retryAfterSeconds: 300 },
          }),
        ),
      ).to.deep.include({ type: 'PINLOCKOUT', userid: 'alice', account: 'acct1', session: null });
    });

    it('maps administrative and NS-wide events to nothing', () => {
      for (const type of [
        'apikey.created',
        'user.updated',
        'session.login_rejected',
        'enrol_link.created',
      ] as const)
        expect(fromAuditEvent(audited({ type })), type).to.equal(undefined);
      expect(fromAuditEvent(audited({ server: null }))).to.equal(undefined);
    });

    it('carries ids only: the wire form has no nonce, code or key', () => {
      const wire = toEventWire(fromAuditEvent(audited({})) as BusinessEvent);
      expect(Object.keys(wire).sort()).to.deep.equal([
        'account',
        'id',
        'server',
        'session',
        'time',
        'type',
        'userid',
      ]);
      expect(wire.time).to.equal('2026-03-01T00:00:00.000Z');
    });
  });

  describe('emitter', () => {
    let dataDir: string;
    let knex: Knex;
    let kv: MemoryKv;
    let events: BusinessEvents;
    let heard: BusinessEvent[];
    let wake: (() => void) | undefined;

    const next = () =>
      new Promise<void>((resolve) => {
        wake = resolve;
      });

    before(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'nextauth-ns-events-'));
      knex = openDb({ dataDir, service: 'ns' });
      await migrateLatest(knex, 'ns');
    });
    after(async () => {
      await knex.destroy();
      await rm(dataDir, { recursive: true, force: true });
    });
    beforeEach(async () => {
      const clock = new FixedClock(Date.UTC(2026, 2, 1));
      kv = new MemoryKv({ clock });
      events = createBusinessEvents({ kv, clock, random: systemRandom, logger });
      heard = [];
      await events.subscribe((e) => {
        heard.push(e);
        wake?.();
      });
    });
    afterEach(() => kv.close());

    const login: NewAuditEvent = {
      type: 'session.login',
      server,
      actor: { kind: 'account', id: 'acct1' },
      subject: { kind: 'user', id: 'alice' },
      details: { session: 'sess1' },
    };

    it('publishes an audited event after its transaction commits, with the audit id', async () => {
      const audit = withBusinessEvents(
        createAuditService({ db: knex, clock: new FixedClock(), random: systemRandom }),
        events,
      );
      const seenInTransaction: string[] = [];
      const committed: string[] = [];
      events.addSink({
        async enqueue(event, trx) {
          expect(trx?.isTransaction).to.equal(true);
          seenInTransaction.push(event.type);
          return true;
        },
        committed: (event) => committed.push(event.type),
      });
      // A sink that queued nothing is not told about the commit.
      events.addSink({
        enqueue: async () => false,
        committed: () => committed.push('not me'),
      });
      const arrived = next();
      let recorded: AuditEvent | undefined;
      await knex.transaction(async (trx) => {
        recorded = await audit.record(login, trx);
        // Not yet: the login could still roll back.
        await new Promise((r) => setImmediate(r));
        expect(heard).to.deep.equal([]);
        expect(committed).to.deep.equal([]);
      });
      await arrived;
      expect(seenInTransaction).to.deep.equal(['LOGIN']);
      expect(committed).to.deep.equal(['LOGIN']);
      expect(heard).to.have.length(1);
      expect(heard[0]).to.deep.include({
        id: recorded?.id,
        type: 'LOGIN',
        userid: 'alice',
        session: 'sess1',
      });
    });

    it('publishes nothing when the transaction rolls back', async () => {
      const audit = withBusinessEvents(
        createAuditService({ db: knex, clock: new FixedClock(), random: systemRandom }),
        events,
      );
      await knex
        .transaction(async (trx) => {
          await audit.record({ ...login, server: { id: 'srv3', name: 'c' } }, trx);
          throw new Error('rolled back');
        })
        .catch(() => {});
      // A later event arrives alone: the rolled-back one was never published.
      const arrived = next();
      await events.emit({ type: 'CONFIRMSCAN', server, session: 's2', userid: 'bob', account: 'a2' });
      await arrived;
      expect(heard.map((e) => e.type)).to.deep.equal(['CONFIRMSCAN']);
      expect(await knex('ns_audit_events').where({ server_id: 'srv3' }).count({ n: '*' })).to.deep.equal([
        { n: 0 },
      ]);
    });

    it('a failing sink fails the recording transaction', async () => {
      const audit = withBusinessEvents(
        createAuditService({ db: knex, clock: new FixedClock(), random: systemRandom }),
        events,
      );
      events.addSink({
        async enqueue() {
          throw new Error('queue down');
        },
      });
      let failed = false;
      await knex
        .transaction(async (trx) => audit.record({ ...login, server: { id: 'srv2', name: 'b' } }, trx))
        .catch(() => {
          failed = true;
        });
      expect(failed).to.equal(true);
      expect(await knex('ns_audit_events').where({ server_id: 'srv2' }).count({ n: '*' })).to.deep.equal([
        { n: 0 },
      ]);
    });

    it('emits unaudited events with a fresh id', async () => {
      const arrived = next();
      const event = await events.emit({
        type: 'NOACCOUNTS',
        server,
        session: 's1',
        userid: null,
        account: null,
      });
      await arrived;
      expect(event.id).to.match(/^[0-9a-f]{32}$/);
      expect(heard).to.deep.equal([event]);
    });

    it('drops bus messages that are not events', async () => {
      expect(parseBusinessEvent('nonsense')).to.equal(undefined);
      expect(parseBusinessEvent(JSON.stringify({ type: 'LOGIN' }))).to.equal(undefined);
      expect(parseBusinessEvent(`{"x":"${'a'.repeat(5000)}"}`)).to.equal(undefined);
      const arrived = next();
      await kv.publish(eventsChannel, '{"type":"LOGIN"}');
      await events.emit({ type: 'CONFIRMSCAN', server, session: 's1', userid: 'u', account: 'a' });
      await arrived;
      expect(heard.map((e) => e.type)).to.deep.equal(['CONFIRMSCAN']);
    });
  });
});
