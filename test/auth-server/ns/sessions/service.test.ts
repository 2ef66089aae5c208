// Session service on every database: nonces hashed at rest, rotating one-time login codes, guarded state
// transitions raced for exactly one winner, and rejections that leave storage unchanged.
import { expect } from 'chai';
import type { Knex } from 'knex';
import { NotFoundError } from '../../../../auth-server/common/db/errors.js';
import { migrateLatest } from '../../../../auth-server/common/db/migrate.js';
import { SessionError } from '../../../../auth-server/ns/sessions/errors.js';
import { parseSessionEvent, sessionChannel } from '../../../../auth-server/ns/sessions/events.js';
import {
  loggedInSessionMs,
  loginCodeGraceMs,
  loginCodeRotationMs,
} from '../../../../auth-server/ns/sessions/lifetimes.js';
import { parseLoginQrUri } from '../../../../auth-server/ns/sessions/login-code.js';
import { sha256Hex } from '../../../../auth-server/ns/sessions/secrets.js';
import { describeEachDatabase } from '../../common/db/databases.js';
import { publicUrl, rejection, type SessionFixture, sessionFixture, snapshot } from './fixtures.js';

const browser = { server: 'acme', userAgent: 'Mozilla/5.0 (X11) Firefox/140', ip: '192.0.2.10' };

function expectSessionError(err: unknown, code: string) {
  expect(err).to.be.instanceOf(SessionError);
  expect((err as SessionError).code).to.equal(code);
}

describeEachDatabase('ns sessions service', (db) => {
  let f: SessionFixture;
  let knex: Knex;

  before(() => migrateLatest(db().knex, 'ns'));
  beforeEach(async () => {
    knex = db().knex;
    f = await sessionFixture(knex);
  });
  afterEach(() => f.kv.close());

  const storedState = async () => ({
    sessions: await snapshot(knex, 'ns_sessions'),
    codes: await snapshot(knex, 'ns_login_codes'),
  });

  describe('createSession', () => {
    it('returns a 256-bit nonce once and stores only its SHA-256', async () => {
      const { nonce, session } = await f.service.createSession(browser);
      expect(nonce).to.match(/^[A-Za-z0-9_-]{43}$/);
      expect(session).to.deep.include({
        serverId: f.serverId,
        serverName: 'acme',
        state: 'waiting',
        userid: null,
        userAgent: browser.userAgent,
        ip: browser.ip,
      });
      expect(session).to.not.have.property('nonce');
      // Login timeout from the server policy (120 s).
      expect(session.expiresAt.getTime() - f.clock.now()).to.equal(120_000);
      const rows = await knex('ns_sessions').select('*');
      expect(rows).to.have.length(1);
      expect(rows[0].nonce_hash).to.equal(sha256Hex(nonce));
      expect(JSON.stringify(rows)).to.not.contain(nonce);
      // Returned as inserted, without a read: the same as reading it.
      expect(session).to.deep.equal(await f.service.findByNonce(nonce));
    });

    it('takes the virtual server as the caller just read it', async () => {
      const server = { id: f.serverId, name: 'acme', policy: { loginTimeoutSeconds: 60 } };
      const { nonce, session } = await f.service.createSession({ ...browser, server: server as never });
      expect(session.expiresAt.getTime() - f.clock.now()).to.equal(60_000);
      expect(session).to.deep.equal(await f.service.findByNonce(nonce));
    });

    it('refuses an unknown server with NotFoundError and stores nothing', async () => {
      const err = await rejection(f.service.createSession({ ...browser, server: 'nope' }));
      expect(err).to.be.instanceOf(NotFoundError);
      expect(await knex('ns_sessions').select('*')).to.deep.equal([]);
    });

    it('truncates an oversized user agent instead of failing', async () => {
      const { session } = await f.service.createSession({ ...browser, userAgent: 'x'.repeat(2000) });
      expect(session.userAgent).to.have.length(512);
    });
  });

  describe('getStatus', () => {
    it('reports waiting, and expired once the login timeout passes', async () => {
      const { nonce } = await f.service.createSession(browser);
      expect(await f.service.getStatus(nonce)).to.deep.equal({
        loggedin: false,
        state: 'waiting',
        server: 'acme',
        expiresAt: new Date(f.clock.now() + 120_000).toISOString(),
      });
      f.clock.advance(120_000);
      expect((await f.service.getStatus(nonce)).state).to.equal('expired');
    });

    it('knows no session for an unknown nonce', async () => {
      await f.service.createSession(browser);
      expectSessionError(await rejection(f.service.getStatus('not-the-nonce')), 'unknown_session');
    });
  });

  describe('login codes', () => {
    it('derives one code per 30 s window, the same on every call, never the nonce', async () => {
      const { nonce, session } = await f.service.createSession(browser);
      const first = await f.service.currentLoginCode(nonce);
      const again = await f.service.currentLoginCode(nonce);
      expect(again.code).to.equal(first.code);
      expect(first.code).to.match(/^[A-Za-z0-9_-]{22}$/);
      expect(first.code).to.not.equal(nonce);
      expect(parseLoginQrUri(first.qrUri)).to.deep.equal({ v: 1, ns: publicUrl, s: 'acme', c: first.code });
      expect(first.qrData).to.deep.equal({ v: 1, ns: publicUrl, s: 'acme', c: first.code });
      const rows = await knex('ns_login_codes').select('*');
      expect(rows).to.have.length(1);
      expect(rows[0]).to.deep.include({ code_hash: sha256Hex(first.code), session_id: session.id });

      f.clock.advance(loginCodeRotationMs);
      const next = await f.service.currentLoginCode(nonce);
      expect(next.code).to.not.equal(first.code);
      expect(await knex('ns_login_codes').count({ n: '*' })).to.satisfy(
        (r: { n: unknown }[]) => Number(r[0]?.n) === 2,
      );
    });

    it('expires a code at the end of its window plus grace', async () => {
      const { nonce } = await f.service.createSession(browser);
      const lc = await f.service.currentLoginCode(nonce);
      const window = Math.floor(f.clock.now() / loginCodeRotationMs);
      expect(lc.refreshAt.getTime()).to.equal((window + 1) * loginCodeRotationMs);
      expect(lc.expiresAt.getTime()).to.equal((window + 1) * loginCodeRotationMs + loginCodeGraceMs);
    });

    it('redeems a code: session becomes scanned, the nonce is not returned, an event is published', async () => {
      const { nonce, session } = await f.service.createSession(browser);
      const events: string[] = [];
      await f.kv.subscribe(sessionChannel(session.id), (m) => events.push(m));
      const { code } = await f.service.currentLoginCode(nonce);
      f.clock.advance(1000);
      const scanned = await f.service.redeemLoginCode(code);
      expect(scanned.id).to.equal(session.id);
      expect(scanned.state).to.equal('scanned');
      expect(JSON.stringify(scanned)).to.not.contain(nonce);
      // What it returns without reading back is what storage now holds.
      expect(scanned).to.deep.equal(await f.service.findByNonce(nonce));
      await new Promise((r) => setImmediate(r));
      // The event carries the new status, exactly as a read of storage gives it.
      const status = await f.service.getStatus(nonce);
      expect(status.state).to.equal('scanned');
      expect(events).to.deep.equal([JSON.stringify(status)]);
      expect(parseSessionEvent(events[0] ?? '').status).to.deep.equal(status);
    });

    it('accepts the previous code within the grace period', async () => {
      const { nonce } = await f.service.createSession(browser);
      const { code, refreshAt } = await f.service.currentLoginCode(nonce);
      f.clock.set(refreshAt.getTime() + loginCodeGraceMs - 1);
      expect((await f.service.redeemLoginCode(code)).state).to.equal('scanned');
    });

    it('refuses an expired code with code_expired and changes nothing', async () => {
      const { nonce } = await f.service.createSession(browser);
      const { code, expiresAt } = await f.service.currentLoginCode(nonce);
      f.clock.set(expiresAt.getTime());
      const before = await storedState();
      expectSessionError(await rejection(f.service.redeemLoginCode(code)), 'code_expired');
      expect(await storedState()).to.deep.equal(before);
    });

    it('refuses unknown and malformed codes with unknown_code and changes nothing', async () => {
      const { nonce } = await f.service.createSession(browser);
      await f.service.currentLoginCode(nonce);
      const before = await storedState();
      expectSessionError(await rejection(f.service.redeemLoginCode('A'.repeat(22))), 'unknown_code');
      expectSessionError(await rejection(f.service.redeemLoginCode("'; drop table x; --")), 'unknown_code');
      expectSessionError(await rejection(f.service.redeemLoginCode(nonce)), 'unknown_code');
      expect(await storedState()).to.deep.equal(before);
    });

    it('refuses a reused code with code_used', async () => {
      const { nonce } = await f.service.createSession(browser);
      const { code } = await f.service.currentLoginCode(nonce);
      await f.service.redeemLoginCode(code);
      const before = await storedState();
      expectSessionError(await rejection(f.service.redeemLoginCode(code)), 'code_used');
      expect(await storedState()).to.deep.equal(before);
    });

    it('lets exactly one of 10 concurrent redemptions win', async () => {
      const { nonce } = await f.service.createSession(browser);
      const { code } = await f.service.currentLoginCode(nonce);
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, () => f.service.redeemLoginCode(code)),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won).to.have.length(1);
      for (const r of results) {
        if (r.status === 'rejected') expectSessionError(r.reason, 'code_used');
      }
      const rows = await knex('ns_login_codes').select('used_at');
      expect(rows.filter((r) => r.used_at !== null)).to.have.length(1);
    });

    it('lets only one of two concurrently redeemed codes of one session win', async () => {
      const { nonce } = await f.service.createSession(browser);
      const old = await f.service.currentLoginCode(nonce);
      f.clock.advance(loginCodeRotationMs);
      const current = await f.service.currentLoginCode(nonce);
      const results = await Promise.allSettled([
        f.service.redeemLoginCode(old.code),
        f.service.redeemLoginCode(current.code),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
      const loser = results.find((r) => r.status === 'rejected');
      expectSessionError(loser?.reason, 'invalid_state');
      // The loser's code was rolled back with its transaction: still unused.
      const used = await knex('ns_login_codes').whereNotNull('used_at').count({ n: '*' });
      expect(Number(used[0]?.n)).to.equal(1);
    });

    it('refuses a code of an expired session and leaves the code unused', async () => {
      const { nonce } = await f.service.createSession(browser);
      f.clock.advance(110_000);
      const { code, expiresAt } = await f.service.currentLoginCode(nonce);
      // Codes never outlive their session.
      expect(expiresAt.getTime()).to.be.at.most(f.clock.now() + 10_000);
      f.clock.advance(10_000);
      const before = await storedState();
      expectSessionError(await rejection(f.service.redeemLoginCode(code)), 'code_expired');
      expect(await storedState()).to.deep.equal(before);
      expectSessionError(await rejection(f.service.currentLoginCode(nonce)), 'session_expired');
    });

    it('issues no code once the session left waiting', async () => {
      const { nonce } = await f.service.createSession(browser);
      const { code } = await f.service.currentLoginCode(nonce);
      await f.service.redeemLoginCode(code);
      expectSessionError(await rejection(f.service.currentLoginCode(nonce)), 'invalid_state');
      expectSessionError(await rejection(f.service.currentLoginCode('unknown')), 'unknown_session');
    });
  });

  describe('approval and decline', () => {
    const approval = { userid: 'alice', accountId: 'acct-1' };

    it('marks loggedin with userid, account and a random hsid; status shows them', async () => {
      const { nonce, session } = await f.service.createSession(browser);
      const { code } = await f.service.currentLoginCode(nonce);
      await f.service.redeemLoginCode(code);
      const done = await f.service.markLoggedIn(session.id, approval);
      expect(done).to.deep.include({ state: 'loggedin', userid: 'alice', accountId: 'acct-1' });
      expect(done.hsid).to.match(/^[A-Za-z0-9_-]{22}$/);
      expect(done.loggedInAt?.getTime()).to.equal(f.clock.now());
      expect(done.expiresAt.getTime()).to.equal(f.clock.now() + loggedInSessionMs);
      expect(await f.service.getStatus(nonce)).to.deep.equal({
        loggedin: true,
        state: 'loggedin',
        server: 'acme',
        expiresAt: done.expiresAt.toISOString(),
        userid: 'alice',
        accountid: 'acct-1',
        hsid: done.hsid,
      });
    });

    it('publishes the status after each change: scanned, then loggedin with who', async () => {
      const { nonce, session } = await f.service.createSession(browser);
      const events: string[] = [];
      await f.kv.subscribe(sessionChannel(session.id), (m) => events.push(m));
      await f.service.redeemLoginCode((await f.service.currentLoginCode(nonce)).code);
      const scanned = await f.service.getStatus(nonce);
      await f.service.markLoggedIn(session.id, approval);
      await new Promise((r) => setImmediate(r));
      const loggedin = await f.service.getStatus(nonce);
      expect(loggedin).to.include({ state: 'loggedin', userid: 'alice' });
      expect(events.map((m) => parseSessionEvent(m).status)).to.deep.equal([scanned, loggedin]);
    });

    it('given the session as read before, returns what storage holds after the move without reading it', async () => {
      const { nonce } = await f.service.createSession(browser);
      const { code } = await f.service.currentLoginCode(nonce);
      const scanned = await f.service.redeemLoginCode(code);
      f.clock.advance(2000);
      const done = await f.service.markLoggedIn(scanned, approval);
      expect(done).to.deep.equal(await f.service.findByNonce(nonce));

      // Also from a read made while still waiting (the scan moved it in between), and for a decline.
      const second = await f.service.createSession(browser);
      await f.service.redeemLoginCode((await f.service.currentLoginCode(second.nonce)).code);
      f.clock.advance(1000);
      const declined = await f.service.markDeclined(second.session);
      expect(declined).to.deep.equal(await f.service.findByNonce(second.nonce));
    });

    it('decides by storage, not by the session given: a stale copy cannot approve a declined session', async () => {
      const { nonce } = await f.service.createSession(browser);
      const scanned = await f.service.redeemLoginCode((await f.service.currentLoginCode(nonce)).code);
      await f.service.markDeclined(scanned.id);
      const before = await storedState();
      expectSessionError(await rejection(f.service.markLoggedIn(scanned, approval)), 'invalid_state');
      expect(await storedState()).to.deep.equal(before);
    });

    it('runs inTransaction after a won move; if it throws, the move is undone and nothing is published', async () => {
      const { nonce, session } = await f.service.createSession(browser);
      await f.service.redeemLoginCode((await f.service.currentLoginCode(nonce)).code);
      const events: string[] = [];
      await f.kv.subscribe(sessionChannel(session.id), (m) => events.push(m));
      const before = await storedState();
      const failing = f.service.markLoggedIn(session.id, approval, {
        inTransaction: async (moved, trx) => {
          expect(moved.state).to.equal('loggedin');
          // The hook sees the move inside its transaction.
          expect((await trx('ns_sessions').where({ id: session.id }).first()).state).to.equal('loggedin');
          throw new Error('audit write failed');
        },
      });
      expect(((await rejection(failing)) as Error).message).to.equal('audit write failed');
      expect(await storedState()).to.deep.equal(before);

      const seen: string[] = [];
      const done = await f.service.markDeclined(session.id, {
        inTransaction: async (moved) => {
          seen.push(moved.state);
        },
      });
      expect(seen).to.deep.equal(['declined']);
      expect(done.state).to.equal('declined');
      await new Promise((r) => setImmediate(r));
      expect(events.map((m) => parseSessionEvent(m).status?.state)).to.deep.equal(['declined']);
    });

    it('keeps why the phone declined: not_me shows in the LoginStatus and its bus message', async () => {
      const { nonce, session } = await f.service.createSession(browser);
      const events: string[] = [];
      await f.kv.subscribe(sessionChannel(session.id), (m) => events.push(m));
      const declined = await f.service.markDeclined(session.id, { reason: 'not_me' });
      expect(declined.declineReason).to.equal('not_me');
      expect(await f.service.getStatus(nonce)).to.deep.include({
        state: 'declined',
        declineReason: 'not_me',
      });
      await new Promise((r) => setImmediate(r));
      expect(events.map((m) => parseSessionEvent(m).status?.declineReason)).to.deep.equal(['not_me']);
      // A plain decline says so too; other states carry no reason.
      const plain = await f.service.createSession(browser);
      expect((await f.service.getStatus(plain.nonce)).declineReason).to.equal(undefined);
      await f.service.markDeclined(plain.session);
      expect((await f.service.getStatus(plain.nonce)).declineReason).to.equal('declined');
    });

    it('refuses an unknown decline reason and leaves the session as it was', async () => {
      const { nonce, session } = await f.service.createSession(browser);
      const before = await storedState();
      const refused = await rejection(
        f.service.markDeclined(session.id, { reason: 'bogus' as unknown as 'not_me' }),
      );
      expect(refused).to.be.instanceOf(Error);
      expect(await storedState()).to.deep.equal(before);
      expect((await f.service.getStatus(nonce)).state).to.equal('waiting');
    });

    it('does not run inTransaction for a lost move', async () => {
      const { session } = await f.service.createSession(browser);
      await f.service.markDeclined(session.id);
      let ran = false;
      const lost = f.service.markLoggedIn(session.id, approval, {
        inTransaction: async () => {
          ran = true;
        },
      });
      expectSessionError(await rejection(lost), 'invalid_state');
      expect(ran).to.equal(false);
    });

    it('lets exactly one of concurrent approvals and declines win', async () => {
      const { nonce, session } = await f.service.createSession(browser);
      await f.service.redeemLoginCode((await f.service.currentLoginCode(nonce)).code);
      const attempts = Array.from({ length: 8 }, (_, i) =>
        i % 2 === 0
          ? f.service.markLoggedIn(session.id, { userid: `user${i}`, accountId: `acct${i}` })
          : f.service.markDeclined(session.id),
      );
      const results = await Promise.allSettled(attempts);
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won).to.have.length(1);
      for (const r of results) if (r.status === 'rejected') expectSessionError(r.reason, 'invalid_state');
      const winner = (won[0] as PromiseFulfilledResult<{ state: string; userid: string | null }>).value;
      const stored = await f.service.getStatus(nonce);
      expect(stored.state).to.equal(winner.state);
      if (winner.state === 'loggedin') expect(stored.userid).to.equal(winner.userid);
    });

    it('refuses to approve a declined session and changes nothing', async () => {
      const { session } = await f.service.createSession(browser);
      await f.service.markDeclined(session.id);
      const before = await storedState();
      expectSessionError(await rejection(f.service.markLoggedIn(session.id, approval)), 'invalid_state');
      expectSessionError(await rejection(f.service.markDeclined(session.id)), 'invalid_state');
      expect(await storedState()).to.deep.equal(before);
    });

    it('refuses to approve an expired session with session_expired', async () => {
      const { session } = await f.service.createSession(browser);
      f.clock.advance(120_000);
      const before = await storedState();
      expectSessionError(await rejection(f.service.markLoggedIn(session.id, approval)), 'session_expired');
      expect(await storedState()).to.deep.equal(before);
    });

    it('refuses an unknown session id and an invalid approval', async () => {
      expectSessionError(await rejection(f.service.markLoggedIn('nope', approval)), 'unknown_session');
      const { session } = await f.service.createSession(browser);
      const err = await rejection(f.service.markLoggedIn(session.id, { userid: '', accountId: 'a' }));
      expect((err as Error).name).to.equal('ZodError');
      expect((await f.service.statusById(session.id)).state).to.equal('waiting');
    });
  });

  describe('logout', () => {
    it('ends a logged-in session; a second logout changes nothing', async () => {
      const { nonce, session } = await f.service.createSession(browser);
      await f.service.markLoggedIn(session.id, { userid: 'alice', accountId: 'a1' });
      const out = await f.service.logout(nonce);
      expect(out).to.deep.include({ loggedin: false, state: 'loggedout' });
      expect(out).to.not.have.property('userid');
      const before = await storedState();
      expect((await f.service.logout(nonce)).state).to.equal('loggedout');
      expect(await storedState()).to.deep.equal(before);
    });

    it('refuses an unknown nonce', async () => {
      expectSessionError(await rejection(f.service.logout('unknown')), 'unknown_session');
    });
  });
});
