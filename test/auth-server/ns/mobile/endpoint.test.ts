// `/ns/mobile` driven by real secure-channel clients on every database: enrolment on an anonymous channel,
// QR login on an account-key channel, and every refusal (handshake, channel kind, tokens, codes,
// attestations, races, frame size) leaving stored state unchanged.
import { expect } from 'chai';
import type { Knex } from 'knex';
import { migrateLatest } from '../../../../auth-server/common/db/migrate.js';
import { loginCodeGraceMs, loginCodeRotationMs } from '../../../../auth-server/ns/sessions/lifetimes.js';
import { ChannelError } from '../../../../protocol/index.js';
import { parseEnrolUri } from '../../../../protocol/mobile/uris.js';
import { describeEachDatabase } from '../../common/db/databases.js';
import {
  browser,
  expectMessageError,
  type MobileFixture,
  mobileFixture,
  type NsChannel,
  newPhone,
  nsState,
  type Phone,
  publicUrl,
  rejection,
} from './fixtures.js';

function expectChannelError(err: unknown, code: string) {
  expect(err, String(err)).to.be.instanceOf(ChannelError);
  expect((err as ChannelError).code).to.equal(code);
}

describeEachDatabase('ns mobile endpoint', (db) => {
  let f: MobileFixture;
  let knex: Knex;

  before(() => migrateLatest(db().knex, 'ns'));
  beforeEach(async () => {
    knex = db().knex;
    f = await mobileFixture(knex);
  });
  afterEach(() => f.close());

  const sessionState = async (sessionId: string) =>
    (await knex('ns_sessions').where({ id: sessionId }).first()).state as string;

  describe('handshake', () => {
    it('client refuses a server whose key does not match the enrol QR fingerprint (bad_server_key)', async () => {
      const before = await nsState(knex);
      expectChannelError(await rejection(f.open({ fingerprint: 'A'.repeat(43) })), 'bad_server_key');
      expect(await nsState(knex)).to.deep.equal(before);
    });

    it('refuses an unknown virtual server (unknown_target)', async () => {
      expectChannelError(await rejection(f.open({ server: 'nope' })), 'unknown_target');
    });

    it('refuses a key without an account on that server (bad_client_key)', async () => {
      expectChannelError(await rejection(f.open({ phone: await newPhone() })), 'bad_client_key');
      // An account on acme is no account on `other`.
      const { phone } = await f.enrol('alice');
      const otherFp = (await f.identities.serverIdentity('other'))?.thumbprint;
      expectChannelError(
        await rejection(f.open({ server: 'other', phone, ...(otherFp ? { fingerprint: otherFp } : {}) })),
        'bad_client_key',
      );
    });

    it('refuses a blocked account (bad_client_key)', async () => {
      const { phone, accountId } = await f.enrol('alice');
      await f.accounts.blockAccount(accountId);
      expectChannelError(await rejection(f.open({ phone })), 'bad_client_key');
    });
  });

  describe('enrolment', () => {
    it('enrols over an anonymous channel; the new key then opens a login channel', async () => {
      const link = await f.accounts.createEnrolLink({ server: 'acme', userid: 'alice' });
      const data = parseEnrolUri(link.uri);
      const channel = await f.open({ fingerprint: data.fp });
      const begin = await channel.request('enrol.begin', { token: data.t });
      expect(begin).to.deep.equal({
        server: { id: `${publicUrl}/ns/acme`, name: 'acme', displayName: 'ACME' },
        userid: 'alice',
        info: null,
        expiresAt: link.expiresAt.getTime(),
      });
      const phone = await newPhone();
      const done = await channel.request('enrol.complete', {
        token: data.t,
        accountKey: phone.jwk,
        attestation: await f.attestFor(channel, phone, 'enrol'),
        description: 'Pixel 9',
        clientVersion: '1.0.0',
      });
      expect(done.userid).to.equal('alice');
      const row = await knex('ns_accounts').where({ id: done.accountId }).first();
      expect(row).to.include({
        userid: 'alice',
        key_thumbprint: phone.thumbprint,
        app_instance_id: phone.instanceId,
        description: 'Pixel 9',
        client_version: '1.0.0',
      });
      const login = await f.open({ phone });
      expect(login.session.info.clientKey).to.not.equal(null);
    });

    it("shows the integrator's announceinfo at enrol.begin", async () => {
      const link = await f.accounts.createEnrolLink({
        server: 'acme',
        userid: 'alice',
        announceInfo: 'Alice Smith, Finance',
      });
      const data = parseEnrolUri(link.uri);
      const channel = await f.open({ fingerprint: data.fp });
      const begin = await channel.request('enrol.begin', { token: data.t });
      expect(begin.info).to.equal('Alice Smith, Finance');
    });

    it('refuses login.* on an anonymous channel (a scan there means the phone has no account)', async () => {
      const { code, sessionId } = await f.browserLogin();
      const channel = await f.open({});
      const before = await nsState(knex);
      expectMessageError(await rejection(channel.request('login.scan', { code })), 'no_account');
      expectMessageError(
        await rejection(channel.request('login.decline', { login: 'x', reason: 'declined' })),
        'forbidden',
      );
      expect(await nsState(knex)).to.deep.equal(before);
      expect(await sessionState(sessionId)).to.equal('waiting');
    });

    it('refuses enrol.* on an authenticated channel with forbidden', async () => {
      const { phone } = await f.enrol('alice');
      const data = parseEnrolUri((await f.accounts.createEnrolLink({ server: 'acme', userid: 'bob' })).uri);
      const channel = await f.open({ phone });
      const before = await nsState(knex);
      expectMessageError(await rejection(channel.request('enrol.begin', { token: data.t })), 'forbidden');
      const attestation = await f.attestFor(channel, phone, 'enrol');
      expectMessageError(
        await rejection(
          channel.request('enrol.complete', { token: data.t, accountKey: phone.jwk, attestation }),
        ),
        'forbidden',
      );
      expect(await nsState(knex)).to.deep.equal(before);
    });

    it('10 channels racing enrol.complete with one token create exactly one account', async () => {
      const data = parseEnrolUri((await f.accounts.createEnrolLink({ server: 'acme', userid: 'alice' })).uri);
      const attempts = await Promise.all(
        Array.from({ length: 10 }, async () => {
          const phone = await newPhone();
          const channel = await f.open({ fingerprint: data.fp });
          return { channel, phone, attestation: await f.attestFor(channel, phone, 'enrol') };
        }),
      );
      const results = await Promise.allSettled(
        attempts.map((a) =>
          a.channel.request('enrol.complete', {
            token: data.t,
            accountKey: a.phone.jwk,
            attestation: a.attestation,
          }),
        ),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
      for (const r of results) if (r.status === 'rejected') expectMessageError(r.reason, 'enrol_token_used');
      expect(await knex('ns_accounts').select('*')).to.have.length(1);
    });

    it('refuses an expired token (enrol_token_expired) and an attestation of another channel', async () => {
      const link = await f.accounts.createEnrolLink({ server: 'acme', userid: 'alice', ttlSeconds: 60 });
      const data = parseEnrolUri(link.uri);
      const phone = await newPhone();
      const [a, b] = [await f.open({}), await f.open({})];
      const before = await nsState(knex);
      // Attested for channel b, sent on channel a.
      const foreign = await f.attestFor(b, phone, 'enrol');
      expectMessageError(
        await rejection(
          a.request('enrol.complete', { token: data.t, accountKey: phone.jwk, attestation: foreign }),
        ),
        'attestation_wrong_challenge',
      );
      f.clock.advance(60_000);
      expectMessageError(await rejection(a.request('enrol.begin', { token: data.t })), 'enrol_token_expired');
      const fresh = await f.attestFor(a, phone, 'enrol');
      expectMessageError(
        await rejection(
          a.request('enrol.complete', { token: data.t, accountKey: phone.jwk, attestation: fresh }),
        ),
        'enrol_token_expired',
      );
      expect(await nsState(knex)).to.deep.equal(before);
    });

    it('rate-limits enrolment per channel (rate_limited)', async () => {
      const g = await mobileFixture(knex, { limits: { enrolPerChannel: 2 } });
      try {
        const channel = await g.open({});
        for (let i = 0; i < 2; i++)
          expectMessageError(
            await rejection(channel.request('enrol.begin', { token: 'A'.repeat(43) })),
            'enrol_token_unknown',
          );
        expectMessageError(
          await rejection(channel.request('enrol.begin', { token: 'A'.repeat(43) })),
          'rate_limited',
        );
      } finally {
        await g.close();
      }
    });
  });

  describe('QR login', () => {
    let alice: { phone: Phone; accountId: string };
    let channel: NsChannel;

    beforeEach(async () => {
      alice = await f.enrol('alice');
      channel = await f.open({ phone: alice.phone });
    });

    it('scan shows the browser context, confirm logs the browser session in', async () => {
      const { nonce, code, sessionId } = await f.browserLogin();
      const scanned = await channel.request('login.scan', { code });
      expect(scanned).to.deep.include({
        server: { id: `${publicUrl}/ns/acme`, name: 'acme', displayName: 'ACME' },
        userid: 'alice',
        browser: { userAgent: browser.userAgent, ip: browser.ip, location: null },
      });
      // The handle is neither the session id nor anything derived from the nonce.
      expect(scanned.login).to.match(/^[A-Za-z0-9_-]{22}$/);
      expect(JSON.stringify(scanned)).to.not.contain(nonce).and.not.contain(sessionId);
      expect(await sessionState(sessionId)).to.equal('scanned');
      const confirmed = await channel.request('login.confirm', {
        login: scanned.login,
        attestation: await f.attestFor(channel, alice.phone, 'login'),
      });
      expect(confirmed).to.deep.equal({ status: 'loggedin' });
      expect(scanned.info).to.equal(null);
      expect(await f.sessions.getStatus(nonce)).to.deep.include({
        loggedin: true,
        userid: 'alice',
        accountid: alice.accountId,
      });
      const account = await knex('ns_accounts').where({ id: alice.accountId }).first();
      expect(Number(account.last_login_at)).to.equal(f.clock.now());
      // A used handle is gone: decline after loggedin is refused and changes nothing.
      expectMessageError(
        await rejection(channel.request('login.decline', { login: scanned.login, reason: 'declined' })),
        'unknown_login',
      );
      expect(await sessionState(sessionId)).to.equal('loggedin');
    });

    it("shows the integrator's sessioninfo with the scan", async () => {
      const { code } = await f.browserLogin('Sign in to Payroll');
      const scanned = await channel.request('login.scan', { code });
      expect(scanned.info).to.equal('Sign in to Payroll');
    });

    it('refuses a reused code (code_used), an expired one (code_expired) and an unknown one', async () => {
      const { code, sessionId } = await f.browserLogin();
      await channel.request('login.scan', { code });
      const before = await nsState(knex);
      expectMessageError(await rejection(channel.request('login.scan', { code })), 'code_used');
      expectMessageError(
        await rejection(channel.request('login.scan', { code: 'B'.repeat(22) })),
        'unknown_code',
      );
      expect(await nsState(knex)).to.deep.equal(before);
      expect(await sessionState(sessionId)).to.equal('scanned');

      const second = await f.browserLogin();
      f.clock.advance(loginCodeRotationMs + loginCodeGraceMs);
      const before2 = await nsState(knex);
      expectMessageError(
        await rejection(channel.request('login.scan', { code: second.code })),
        'code_expired',
      );
      expect(await nsState(knex)).to.deep.equal(before2);
    });

    it('refuses to confirm once the browser session has expired (session_expired)', async () => {
      const { code, sessionId } = await f.browserLogin();
      const { login } = await channel.request('login.scan', { code });
      f.clock.advance(120_000);
      const attestation = await f.attestFor(channel, alice.phone, 'login');
      const before = await nsState(knex);
      expectMessageError(
        await rejection(channel.request('login.confirm', { login, attestation })),
        'session_expired',
      );
      expect(await nsState(knex)).to.deep.equal(before);
      expect(await sessionState(sessionId)).to.equal('scanned');
    });

    it('refuses a login code of another virtual server as unknown_code and leaves it usable', async () => {
      const { nonce, session } = await f.sessions.createSession({ ...browser, server: 'other' });
      const { code } = await f.sessions.currentLoginCode(nonce);
      const before = await nsState(knex);
      expectMessageError(await rejection(channel.request('login.scan', { code })), 'unknown_code');
      expect(await nsState(knex)).to.deep.equal(before);
      expect(await sessionState(session.id)).to.equal('waiting');
    });

    describe('attestation binding', () => {
      let scannedLogin: string;
      let sessionId: string;

      beforeEach(async () => {
        const started = await f.browserLogin();
        sessionId = started.sessionId;
        scannedLogin = (await channel.request('login.scan', { code: started.code })).login;
      });

      const refused = async (attestation: string, code: string) => {
        const before = await nsState(knex);
        expectMessageError(
          await rejection(channel.request('login.confirm', { login: scannedLogin, attestation })),
          code,
        );
        expect(await nsState(knex)).to.deep.equal(before);
        expect(await sessionState(sessionId)).to.equal('scanned');
      };

      it('for another purpose (enrol) → attestation_wrong_challenge', async () => {
        await refused(await f.attestFor(channel, alice.phone, 'enrol'), 'attestation_wrong_challenge');
      });

      it('for another channel (transcript) → attestation_wrong_challenge', async () => {
        const other = await f.open({ phone: alice.phone });
        await refused(await f.attestFor(other, alice.phone, 'login'), 'attestation_wrong_challenge');
      });

      it('for another account key → attestation_wrong_challenge', async () => {
        const bob = await newPhone(alice.phone.instanceId);
        await refused(await f.attestFor(channel, bob, 'login'), 'attestation_wrong_challenge');
      });

      it('for another app instance → attestation_wrong_subject', async () => {
        await refused(
          await f.attestFor(channel, alice.phone, 'login', { sub: 'someone-else' }),
          'attestation_wrong_subject',
        );
      });

      it('for another audience → attestation_wrong_audience', async () => {
        await refused(
          await f.attestFor(channel, alice.phone, 'login', { aud: f.globalId('other') }),
          'attestation_wrong_audience',
        );
      });

      it('expired → attestation_expired', async () => {
        const old = f.clock.now() - 120_000;
        await refused(await f.attestFor(channel, alice.phone, 'login', { now: old }), 'attestation_expired');
      });

      it('not an attestation → attestation_invalid', async () => {
        await refused('not.a.jws', 'attestation_invalid');
      });

      it('replayed → attestation_replayed', async () => {
        // Approves one login, then is sent again for the next login scanned on the same channel.
        const attestation = await f.attestFor(channel, alice.phone, 'login');
        const first = await f.browserLogin();
        const { login } = await channel.request('login.scan', { code: first.code });
        await channel.request('login.confirm', { login, attestation });
        await refused(attestation, 'attestation_replayed');
      });
    });

    it('two concurrent confirms on one channel: exactly one loggedin', async () => {
      const { code, sessionId } = await f.browserLogin();
      const { login } = await channel.request('login.scan', { code });
      const [a1, a2] = [
        await f.attestFor(channel, alice.phone, 'login'),
        await f.attestFor(channel, alice.phone, 'login'),
      ];
      const results = await Promise.allSettled([
        channel.request('login.confirm', { login, attestation: a1 }),
        channel.request('login.confirm', { login, attestation: a2 }),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
      expect(await sessionState(sessionId)).to.equal('loggedin');
    });

    it('concurrent approvals of one session by two accounts: exactly one loggedin (service level)', async () => {
      const bob = await f.enrol('bob');
      const bobChannel = await f.open({ phone: bob.phone });
      const { code, sessionId } = await f.browserLogin();
      await f.logins.scan({ server: await acme(), accountId: alice.accountId, code });
      const results = await Promise.allSettled([
        f.logins.confirm({
          server: await acme(),
          accountId: alice.accountId,
          sessionId,
          attestation: await f.attestFor(channel, alice.phone, 'login'),
          transcriptHash: channel.session.info.transcriptHash,
        }),
        f.logins.confirm({
          server: await acme(),
          accountId: bob.accountId,
          sessionId,
          attestation: await f.attestFor(bobChannel, bob.phone, 'login'),
          transcriptHash: bobChannel.session.info.transcriptHash,
        }),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
      const loser = results.find((r) => r.status === 'rejected');
      expect((loser as PromiseRejectedResult).reason).to.have.property('code', 'invalid_state');
      const row = await knex('ns_sessions').where({ id: sessionId }).first();
      expect(row.state).to.equal('loggedin');
      // Decline after loggedin is refused and changes nothing.
      const before = await nsState(knex);
      const err = await rejection(
        f.logins.decline({ server: await acme(), accountId: bob.accountId, sessionId, reason: 'declined' }),
      );
      expect(err).to.have.property('code', 'invalid_state');
      expect(await nsState(knex)).to.deep.equal(before);
    });

    it('decline ends the session; not_me is logged as a security event without secrets', async () => {
      const { nonce, code, sessionId } = await f.browserLogin();
      const { login } = await channel.request('login.scan', { code });
      expect(await channel.request('login.decline', { login, reason: 'not_me' })).to.deep.equal({
        status: 'declined',
      });
      expect(await sessionState(sessionId)).to.equal('declined');
      const event = f.logs.lines().find((l) => l.event === 'login_not_me');
      expect(event).to.include({ accountId: alice.accountId, sessionId, security: true, level: 40 });
      const all = JSON.stringify(f.logs.lines());
      expect(all).to.not.contain(nonce).and.not.contain(code);
      // A declined login cannot be confirmed afterwards (the handle is gone; the session too).
      expectMessageError(
        await rejection(
          channel.request('login.confirm', {
            login,
            attestation: await f.attestFor(channel, alice.phone, 'login'),
          }),
        ),
        'unknown_login',
      );
    });

    it('an account blocked while its channel is open cannot confirm (account_blocked)', async () => {
      const { code, sessionId } = await f.browserLogin();
      const { login } = await channel.request('login.scan', { code });
      await f.accounts.blockAccount(alice.accountId);
      const before = await nsState(knex);
      expectMessageError(
        await rejection(
          channel.request('login.confirm', {
            login,
            attestation: await f.attestFor(channel, alice.phone, 'login'),
          }),
        ),
        'account_blocked',
      );
      expect(await nsState(knex)).to.deep.equal(before);
      expect(await sessionState(sessionId)).to.equal('scanned');
    });

    it('a handle from another channel is unknown here (unknown_login)', async () => {
      const { code, sessionId } = await f.browserLogin();
      const { login } = await channel.request('login.scan', { code });
      const other = await f.open({ phone: alice.phone });
      expectMessageError(
        await rejection(
          other.request('login.confirm', {
            login,
            attestation: await f.attestFor(other, alice.phone, 'login'),
          }),
        ),
        'unknown_login',
      );
      expect(await sessionState(sessionId)).to.equal('scanned');
    });

    it('rate-limits login.scan per client IP (rate_limited)', async () => {
      const g = await mobileFixture(knex, { limits: { scanPerIp: 3, scanPerChannel: 100 } });
      try {
        const { phone } = await g.enrol('carol');
        const channels = [await g.open({ phone }), await g.open({ phone })];
        const codes: string[] = [];
        for (let i = 0; i < 4; i++) codes.push((await g.browserLogin()).code);
        await channels[0]?.request('login.scan', { code: codes[0] ?? '' });
        await channels[1]?.request('login.scan', { code: codes[1] ?? '' });
        await channels[0]?.request('login.scan', { code: codes[2] ?? '' });
        const before = await nsState(knex);
        expectMessageError(
          await rejection(channels[1]?.request('login.scan', { code: codes[3] ?? '' }) ?? Promise.resolve()),
          'rate_limited',
        );
        expect(await nsState(knex)).to.deep.equal(before);
      } finally {
        await g.close();
      }
    });

    it('closes the channel on an oversized frame (frame_too_large) without touching state', async () => {
      const big = await f.open({ phone: alice.phone, maxFrameBytes: 256 * 1024 });
      const { sessionId } = await f.browserLogin();
      const before = await nsState(knex);
      // A valid request padded past 64 KiB: the server must drop the channel before parsing it.
      const padded = big.session.send(
        new TextEncoder().encode(
          `{"t":"req","id":99,"type":"login.scan","body":{"code":"${'A'.repeat(70_000)}"}}`,
        ),
      );
      await padded.catch(() => {});
      const closed = await big.closed;
      expectChannelError(closed, 'frame_too_large');
      expect(await nsState(knex)).to.deep.equal(before);
      expect(await sessionState(sessionId)).to.equal('waiting');
    });
  });

  const acme = async () => {
    const identity = await f.identities.serverIdentity('acme');
    if (!identity) throw new Error('no acme');
    return identity;
  };
});
