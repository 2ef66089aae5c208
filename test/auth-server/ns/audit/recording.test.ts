// What NS records on every database while phones enrol and log in over `/ns/mobile`: enrol links,
// enrolments, logins, declines, refused approvals and blocks — with actor, subject, the phone's address —
// in the same transaction as the change (a failed audit write fails and rolls back the operation), and
// never a token, nonce, code or attestation.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import type { Knex } from 'knex';
import { systemRandom } from '../../../../auth-server/common/clock.js';
import { migrateLatest } from '../../../../auth-server/common/db/migrate.js';
import { createAccountService } from '../../../../auth-server/ns/accounts/service.js';
import { createAttestationChecker } from '../../../../auth-server/ns/attestation/check.js';
import type { AuditEvent } from '../../../../auth-server/ns/audit/model.js';
import type { AuditRecorder } from '../../../../auth-server/ns/audit/service.js';
import { createMobileLoginService } from '../../../../auth-server/ns/logins/service.js';
import type { ServerIdentity } from '../../../../auth-server/ns/servers/identity.js';
import { sha256Hex } from '../../../../auth-server/ns/sessions/secrets.js';
import { attestationChallenge } from '../../../../protocol/attestation-binding.js';
import { MessageError } from '../../../../protocol/index.js';
import { parseEnrolUri } from '../../../../protocol/mobile/uris.js';
import { describeEachDatabase } from '../../common/db/databases.js';
import {
  browser,
  type MobileFixture,
  mobileFixture,
  newPhone,
  nsState,
  phoneIp,
  publicUrl,
  rejection,
} from '../mobile/fixtures.js';

const failingAudit: AuditRecorder = {
  record: async () => {
    throw new Error('audit store unavailable');
  },
};

describeEachDatabase('ns audit recording', (db) => {
  let f: MobileFixture;
  let knex: Knex;
  let acme: ServerIdentity;

  before(() => migrateLatest(db().knex, 'ns'));
  beforeEach(async () => {
    knex = db().knex;
    f = await mobileFixture(knex);
    const identity = await f.identities.serverIdentity('acme');
    if (!identity) throw new Error('no acme');
    acme = identity;
  });
  afterEach(() => f.close());

  /** This test's events on acme (the fixture re-creates acme with a new id for every test). */
  const events = async (): Promise<AuditEvent[]> =>
    (await f.audit.query({ serverId: acme.serverId, order: 'asc', limit: 1000 })).events;
  const typesOf = (list: AuditEvent[]) => list.map((e) => e.type);

  it('an enrolment records the link (by its creator) and the new account (by its key, from the phone)', async () => {
    const phone = await newPhone();
    const link = await f.accounts.createEnrolLink(
      { server: 'acme', userid: 'alice', ttlSeconds: 300 },
      { actor: { kind: 'apikey', id: 'k-backend' }, ip: '203.0.113.5', userAgent: 'backend/1.0' },
    );
    const data = parseEnrolUri(link.uri);
    // Events of one millisecond are ordered by id: step the clock so the order below is the order of events.
    f.clock.advance(1);
    const channel = await f.open({ fingerprint: data.fp });
    await channel.request('enrol.begin', { token: data.t });
    const done = await channel.request('enrol.complete', {
      token: data.t,
      accountKey: phone.jwk,
      attestation: await f.attestFor(channel, phone, 'enrol'),
      description: 'Pixel 9',
      clientVersion: '1.2.3',
    });
    const [created, enrolled, ...rest] = await events();
    expect(rest).to.deep.equal([]);
    expect(created).to.deep.include({
      type: 'enrol_link.created',
      server: { id: acme.serverId, name: 'acme' },
      actor: { kind: 'apikey', id: 'k-backend' },
      subject: { kind: 'user', id: 'alice' },
      ip: '203.0.113.5',
      userAgent: 'backend/1.0',
      details: { ttlSeconds: 300, expiresAt: link.expiresAt.toISOString() },
    });
    expect(enrolled).to.deep.include({
      type: 'account.enrolled',
      actor: { kind: 'account', id: done.accountId },
      subject: { kind: 'user', id: 'alice' },
      ip: phoneIp,
      userAgent: 'nextauth-test',
      details: {
        account: done.accountId,
        keyThumbprint: phone.thumbprint,
        appInstance: phone.instanceId,
        description: 'Pixel 9',
        clientVersion: '1.2.3',
      },
    });
    // Never the token, nor its stored hash.
    const stored = JSON.stringify(await knex('ns_audit_events').where({ server_id: acme.serverId }));
    expect(stored).to.not.contain(data.t).and.not.contain(sha256Hex(data.t));
  });

  it('in-process callers that do not say who acts are recorded as system:ns', async () => {
    await f.accounts.createEnrolLink({ server: 'acme', userid: 'bob' });
    const [e] = await events();
    expect(e).to.deep.include({ actor: { kind: 'system', id: 'ns' }, ip: null, userAgent: null });
  });

  it('a refused enrolment (used token) records nothing more', async () => {
    const { phone } = await f.enrol('alice');
    const before = typesOf(await events());
    expect(before).to.have.members(['enrol_link.created', 'account.enrolled']);
    f.clock.advance(1);
    const link = await f.accounts.createEnrolLink({ server: 'acme', userid: 'alice' });
    const data = parseEnrolUri(link.uri);
    const channel = await f.open({ fingerprint: data.fp });
    const attestation = await f.attestFor(channel, phone, 'enrol');
    // The same key again: account_key_exists rolls the token and the audit row back together.
    const err = await rejection(
      channel.request('enrol.complete', { token: data.t, accountKey: phone.jwk, attestation }),
    );
    expect(err).to.be.instanceOf(MessageError).with.property('code', 'account_key_exists');
    expect(typesOf(await events())).to.deep.equal([...before, 'enrol_link.created']);
  });

  it('a failing audit write fails the enrolment and rolls it back: token unused, no account', async () => {
    const accounts = createAccountService({
      db: knex,
      clock: f.clock,
      random: systemRandom,
      logger: f.logs.logger,
      identities: f.identities,
      checkAttestation: createAttestationChecker({ sfs: f.sfs.peer, kv: f.kv, clock: f.clock }),
      audit: failingAudit,
      publicUrl,
    });
    // No enrol link without its audit row either.
    const state0 = await nsState(knex);
    expect((await rejection(accounts.createEnrolLink({ server: 'acme', userid: 'alice' }))).message).to.equal(
      'audit store unavailable',
    );
    expect(await nsState(knex)).to.deep.equal(state0);

    const link = await f.accounts.createEnrolLink({ server: 'acme', userid: 'alice' });
    const token = parseEnrolUri(link.uri).t;
    const phone = await newPhone();
    const th = randomBytes(32);
    const challenge = await attestationChallenge({
      serverId: acme.globalId,
      accountKeyThumbprint: phone.thumbprint,
      transcriptHash: th,
      purpose: 'enrol',
    });
    const attestation = await f.sfs.attest({ aud: acme.globalId, challenge, sub: phone.instanceId });
    const before = await nsState(knex);
    const err = await rejection(
      accounts.completeEnrol({ server: acme, token, accountKey: phone.jwk, attestation, transcriptHash: th }),
    );
    expect(err.message).to.equal('audit store unavailable');
    expect(await nsState(knex)).to.deep.equal(before);
    expect(typesOf(await events())).to.deep.equal(['enrol_link.created']);
  });

  describe('logins', () => {
    let alice: Awaited<ReturnType<MobileFixture['enrol']>>;
    let since: number;

    beforeEach(async () => {
      alice = await f.enrol('alice');
      f.clock.advance(1000);
      since = f.clock.now();
    });

    const loginEvents = async () =>
      (await f.audit.query({ serverId: acme.serverId, order: 'asc', since })).events;

    it('a confirmed login: the account acts on its user, from the phone’s address; no nonce or code', async () => {
      const channel = await f.open({ phone: alice.phone });
      const { nonce, code, sessionId } = await f.browserLogin();
      const { login } = await channel.request('login.scan', { code });
      const attestation = await f.attestFor(channel, alice.phone, 'login');
      await channel.request('login.confirm', { login, attestation });
      const list = await loginEvents();
      expect(list).to.have.length(1);
      expect(list[0]).to.deep.include({
        type: 'session.login',
        time: f.clock.now(),
        server: { id: acme.serverId, name: 'acme' },
        actor: { kind: 'account', id: alice.accountId },
        subject: { kind: 'user', id: 'alice' },
        ip: phoneIp,
        userAgent: 'nextauth-test',
        details: { session: sessionId },
      });
      const json = JSON.stringify(list);
      for (const secret of [nonce, code, attestation, login]) expect(json).to.not.contain(secret);
    });

    it('declined and not_me: session.declined with the reason and the browser’s address', async () => {
      const channel = await f.open({ phone: alice.phone });
      for (const reason of ['declined', 'not_me'] as const) {
        const { code } = await f.browserLogin();
        const { login } = await channel.request('login.scan', { code });
        await channel.request('login.decline', { login, reason });
        f.clock.advance(1);
      }
      const events = await loginEvents();
      // "Not me" also blocks pushes to the account for a while (server policy `notMe`, default block_push).
      expect(typesOf(events).sort()).to.deep.equal([
        'account.push_blocked',
        'session.declined',
        'session.declined',
      ]);
      const list = events.filter((e) => e.type === 'session.declined');
      expect(list.map((e) => e.details.reason)).to.deep.equal(['declined', 'not_me']);
      expect(list[1]).to.deep.include({
        actor: { kind: 'account', id: alice.accountId },
        subject: { kind: 'user', id: 'alice' },
        ip: phoneIp,
      });
      expect(list[1]?.details.browserIp).to.equal(browser.ip);
    });

    it('a refused attestation: session.login_rejected with the reason; the session stays scanned', async () => {
      const channel = await f.open({ phone: alice.phone });
      const { code, sessionId } = await f.browserLogin();
      const { login } = await channel.request('login.scan', { code });
      const stale = await f.attestFor(channel, alice.phone, 'login', { now: f.clock.now() - 120_000 });
      const err = await rejection(channel.request('login.confirm', { login, attestation: stale }));
      expect(err).to.have.property('code', 'attestation_expired');
      const [e, ...rest] = await loginEvents();
      expect(rest).to.deep.equal([]);
      expect(e).to.deep.include({
        type: 'session.login_rejected',
        actor: { kind: 'account', id: alice.accountId },
        details: { session: sessionId, reason: 'attestation_expired' },
      });
      expect((await knex('ns_sessions').where({ id: sessionId }).first()).state).to.equal('scanned');
    });

    it('a block is recorded once (by whoever blocked); a confirm after it is a rejected login', async () => {
      const channel = await f.open({ phone: alice.phone });
      const { code } = await f.browserLogin();
      const { login } = await channel.request('login.scan', { code });
      const by = { actor: { kind: 'apikey', id: 'k-ops' }, ip: '203.0.113.9', userAgent: null } as const;
      await f.accounts.blockAccount(alice.accountId, by);
      await f.accounts.blockAccount(alice.accountId, by);
      f.clock.advance(1);
      const attestation = await f.attestFor(channel, alice.phone, 'login');
      const err = await rejection(channel.request('login.confirm', { login, attestation }));
      expect(err).to.have.property('code', 'account_blocked');
      const list = await loginEvents();
      expect(typesOf(list)).to.deep.equal(['account.blocked', 'session.login_rejected']);
      expect(list[0]).to.deep.include({
        actor: { kind: 'apikey', id: 'k-ops' },
        subject: { kind: 'account', id: alice.accountId },
        ip: '203.0.113.9',
        details: { userid: 'alice' },
      });
      expect(list[1]?.details).to.deep.equal({
        session: list[1]?.details.session,
        reason: 'account_blocked',
      });
      // An unknown account is refused without an event.
      expect(await rejection(f.accounts.blockAccount('nope', by))).to.have.property(
        'code',
        'account_unknown',
      );
      expect(await loginEvents()).to.have.length(2);
    });

    it('a failing audit write fails the approval and rolls the login back (same transaction)', async () => {
      const logins = createMobileLoginService({
        sessions: f.sessions,
        accounts: f.accounts,
        checkAttestation: createAttestationChecker({ sfs: f.sfs.peer, kv: f.kv, clock: f.clock }),
        audit: failingAudit,
        logger: f.logs.logger,
      });
      const channel = await f.open({ phone: alice.phone });
      const { code, sessionId } = await f.browserLogin();
      await logins.scan({ server: acme, accountId: alice.accountId, code });
      const err = await rejection(
        logins.confirm({
          server: acme,
          accountId: alice.accountId,
          sessionId,
          attestation: await f.attestFor(channel, alice.phone, 'login'),
          transcriptHash: channel.session.info.transcriptHash,
        }),
      );
      expect(err.message).to.equal('audit store unavailable');
      const session = await knex('ns_sessions').where({ id: sessionId }).first();
      expect(session.state).to.equal('scanned');
      expect(session.userid).to.equal(null);
      expect((await knex('ns_accounts').where({ id: alice.accountId }).first()).last_login_at).to.equal(null);
      // Declines fail the same way.
      const second = await f.browserLogin();
      await logins.scan({ server: acme, accountId: alice.accountId, code: second.code });
      const declined = await rejection(
        logins.decline({
          server: acme,
          accountId: alice.accountId,
          sessionId: second.sessionId,
          reason: 'not_me',
        }),
      );
      expect(declined.message).to.equal('audit store unavailable');
      expect((await knex('ns_sessions').where({ id: second.sessionId }).first()).state).to.equal('scanned');
      expect(await loginEvents()).to.deep.equal([]);
    });
  });
});
