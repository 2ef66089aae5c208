// LOGIN flow against a fake NS and SFS: approve, decline, not-me, PIN retries and lockout, pinning, lookup.
import { expect } from 'chai';
import { world } from '../fakes.js';
import { enrol, expectAsk, expectError, trail } from './helpers.js';

describe('mobile-sdk/core/flows: LOGIN', () => {
  it('approve: shows server, user and browser, asks the PIN, confirms with a bound attestation', async () => {
    const w = await world();
    await enrol(w, 'alice');
    const { uri, login } = w.ns.loginUri();
    w.clock.ms += 60_000;
    const flow = w.sdk.startLogin(uri);
    const confirm = await expectAsk(flow, 'CONFIRM');
    if (confirm.interaction?.type !== 'CONFIRM') throw new Error('unreachable');
    expect(confirm.interaction.context).to.deep.include({
      kind: 'login',
      userid: 'alice',
      info: null,
      browser: { userAgent: 'Firefox/140', ip: '198.51.100.7', location: 'Berlin, DE' },
    });
    expect(confirm.interaction.context.server.name).to.equal('default');
    flow.respond({ type: 'CONFIRM', decision: 'approve' });
    const verify = await expectAsk(flow, 'VERIFY_SECOND_FACTOR');
    expect(verify.interaction).to.deep.include({ attemptsLeft: null });
    flow.respond({ type: 'VERIFY_SECOND_FACTOR', pin: '1234' });
    const done = await flow.settled();
    expect(done.state, done.error?.message).to.equal('DONE');
    expect(done.result?.outcome).to.equal('approved');
    expect(login.status).to.equal('loggedin');
    expect(trail(flow)).to.deep.equal([
      'PROCESSING',
      'WAIT:CONFIRM',
      'PROCESSING',
      'WAIT:VERIFY_SECOND_FACTOR',
      'PROCESSING',
      'DONE',
    ]);
    const [account] = await w.sdk.accounts();
    expect(account?.lastLoginAt).to.equal(w.clock.now());
  });

  for (const [decision, reason] of [
    ['decline', 'declined'],
    ['not_me', 'not_me'],
  ] as const) {
    it(`${decision}: tells the NS (${reason}) without asking for the PIN`, async () => {
      const w = await world();
      await enrol(w, 'alice');
      const attestsBefore = w.sfs.attests;
      const { uri, login } = w.ns.loginUri();
      const flow = w.sdk.startLogin(uri);
      await expectAsk(flow, 'CONFIRM');
      flow.respond({ type: 'CONFIRM', decision });
      const done = await flow.settled();
      expect(done.state, done.error?.message).to.equal('DONE');
      expect(done.result?.outcome).to.equal(reason);
      expect(login).to.deep.include({ status: 'declined', reason });
      expect(w.sfs.attests).to.equal(attestsBefore);
      expect(trail(flow)).to.deep.equal(['PROCESSING', 'WAIT:CONFIRM', 'PROCESSING', 'DONE']);
      expect((await w.sdk.accounts())[0]?.lastLoginAt).to.equal(null);
    });
  }

  it("shows the integrator's sessioninfo with the login", async () => {
    const w = await world();
    await enrol(w, 'alice');
    const flow = w.sdk.startLogin(w.ns.loginUri('default', 'Sign in to Payroll').uri);
    const confirm = await expectAsk(flow, 'CONFIRM');
    if (confirm.interaction?.type !== 'CONFIRM') throw new Error('unreachable');
    expect(confirm.interaction.context.info).to.equal('Sign in to Payroll');
    flow.cancel();
  });

  it('a wrong PIN asks again with the attempts left, then the right one logs in', async () => {
    const w = await world();
    await enrol(w, 'alice');
    const { uri, login } = w.ns.loginUri();
    const flow = w.sdk.startLogin(uri);
    await expectAsk(flow, 'CONFIRM');
    flow.respond({ type: 'CONFIRM', decision: 'approve' });
    await expectAsk(flow, 'VERIFY_SECOND_FACTOR');
    flow.respond({ type: 'VERIFY_SECOND_FACTOR', pin: '9999' });
    const again = await expectAsk(flow, 'VERIFY_SECOND_FACTOR');
    expect(again.interaction).to.deep.include({ attemptsLeft: 2 });
    flow.respond({ type: 'VERIFY_SECOND_FACTOR', pin: '1234' });
    expect((await flow.settled()).state).to.equal('DONE');
    expect(login.status).to.equal('loggedin');
    expect(trail(flow)).to.deep.equal([
      'PROCESSING',
      'WAIT:CONFIRM',
      'PROCESSING',
      'WAIT:VERIFY_SECOND_FACTOR',
      'PROCESSING',
      'WAIT:VERIFY_SECOND_FACTOR',
      'PROCESSING',
      'DONE',
    ]);
  });

  it('wrong PINs until the lockout end in ERROR pin_locked with the retry time', async () => {
    const w = await world();
    await enrol(w, 'alice');
    const { uri, login } = w.ns.loginUri();
    const flow = w.sdk.startLogin(uri);
    await expectAsk(flow, 'CONFIRM');
    flow.respond({ type: 'CONFIRM', decision: 'approve' });
    for (const left of [null, 2, 1]) {
      const ask = await expectAsk(flow, 'VERIFY_SECOND_FACTOR');
      expect(ask.interaction).to.deep.include({ attemptsLeft: left });
      flow.respond({ type: 'VERIFY_SECOND_FACTOR', pin: '0000' });
    }
    const failed = await expectError(flow, 'pin_locked');
    expect(failed.error?.details.retryAfterSeconds).to.equal(300);
    expect(failed.error?.message).to.equal('pin_locked (try again in 300 s)');
    expect(login.status).to.equal('scanned');
  });

  it('a login URI for a server without an account here is ERROR account_not_found (no connection)', async () => {
    const w = await world({ servers: ['default', 'other'] });
    await enrol(w, 'alice');
    const opened = w.transports.opened.length;
    const flow = w.sdk.startLogin(w.ns.loginUri('other').uri);
    await expectError(flow, 'account_not_found');
    expect(w.transports.opened.length).to.equal(opened);
  });

  it('a server presenting a key that is not pinned (nor signed by it) is ERROR bad_server_key', async () => {
    const w = await world();
    await enrol(w, 'alice');
    await w.ns.rotateKey('default', false);
    const { uri, login } = w.ns.loginUri();
    await expectError(w.sdk.startLogin(uri), 'bad_server_key');
    expect(login.status).to.equal('waiting');
  });

  it('follows a key succession signed by the pinned key and re-pins to the new key', async () => {
    const w = await world();
    await enrol(w, 'alice');
    await w.ns.rotateKey('default', true);
    const flow = w.sdk.startLogin(w.ns.loginUri().uri);
    await expectAsk(flow, 'CONFIRM');
    expect((await w.sdk.accounts())[0]?.server.keyThumbprint).to.equal(await w.ns.fingerprint());
    flow.cancel();
  });

  it('picks the requested account when several are enrolled at one server', async () => {
    const w = await world();
    await enrol(w, 'alice');
    const bob = await enrol(w, 'bob');
    const flow = w.sdk.startLogin(w.ns.loginUri().uri, { accountId: bob.id });
    const confirm = await expectAsk(flow, 'CONFIRM');
    if (confirm.interaction?.type !== 'CONFIRM') throw new Error('unreachable');
    expect(confirm.interaction.context.userid).to.equal('bob');
    flow.cancel();
    await expectError(w.sdk.startLogin(w.ns.loginUri().uri, { accountId: 'nope' }), 'account_not_found');
  });

  it('an unknown login code is rejected with the server code', async () => {
    const w = await world();
    await enrol(w, 'alice');
    const { uri, login } = w.ns.loginUri();
    login.status = 'declined';
    const failed = await expectError(w.sdk.startLogin(uri), 'rejected');
    expect(failed.error?.details.reason).to.equal('unknown_code');
  });
});
