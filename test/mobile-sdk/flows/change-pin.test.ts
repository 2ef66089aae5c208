// CHANGE_PIN flow against the fake SFS: change, wrong current PIN with attempts left, lockout, refusals.
import { expect } from 'chai';
import { world } from '../fakes.js';
import { enrol, expectAsk, expectError, trail } from './helpers.js';

async function login(w: Awaited<ReturnType<typeof world>>, pin: string) {
  const flow = w.sdk.startLogin(w.ns.loginUri().uri);
  await expectAsk(flow, 'CONFIRM');
  flow.respond({ type: 'CONFIRM', decision: 'approve' });
  await expectAsk(flow, 'VERIFY_SECOND_FACTOR');
  flow.respond({ type: 'VERIFY_SECOND_FACTOR', pin });
  return flow.settled();
}

describe('mobile-sdk/core/flows: CHANGE_PIN', () => {
  it('asks the current and the new PIN; the new one then logs in and the old one does not', async () => {
    const w = await world();
    const account = await enrol(w, 'alice', '1234');
    const flow = w.sdk.startChangePin();
    const old = await expectAsk(flow, 'VERIFY_SECOND_FACTOR');
    expect(old.interaction).to.deep.include({ attemptsLeft: null, purpose: 'change_old' });
    flow.respond({ type: 'VERIFY_SECOND_FACTOR', pin: '1234' });
    const next = await expectAsk(flow, 'SET_SECOND_FACTOR');
    expect(next.interaction).to.deep.include({ purpose: 'change_new' });
    flow.respond({ type: 'SET_SECOND_FACTOR', pin: '567890' });
    const done = await flow.settled();
    expect(done.state, done.error?.message).to.equal('DONE');
    expect(done.result?.account.id).to.equal(account.id);
    expect(trail(flow)).to.deep.equal([
      'PROCESSING',
      'WAIT:VERIFY_SECOND_FACTOR',
      'PROCESSING',
      'WAIT:SET_SECOND_FACTOR',
      'PROCESSING',
      'DONE',
    ]);
    // Counted under the account's server policy.
    expect(w.sfs.checkedFor.at(-1)).to.equal(account.server.id);
    const oldPin = await login(w, '1234');
    expect(oldPin.interaction).to.deep.include({ type: 'VERIFY_SECOND_FACTOR', attemptsLeft: 2 });
    w.sdk.activeFlow?.cancel();
  });

  it('the new PIN works for the next login', async () => {
    const w = await world();
    await enrol(w, 'alice', '1234');
    const flow = w.sdk.startChangePin();
    await expectAsk(flow, 'VERIFY_SECOND_FACTOR');
    flow.respond({ type: 'VERIFY_SECOND_FACTOR', pin: '1234' });
    await expectAsk(flow, 'SET_SECOND_FACTOR');
    flow.respond({ type: 'SET_SECOND_FACTOR', pin: '4321' });
    expect((await flow.settled()).state).to.equal('DONE');
    const l = await login(w, '4321');
    expect(l.state, l.error?.message).to.equal('DONE');
  });

  it('a wrong current PIN asks it again with the attempts left, keeping the new PIN', async () => {
    const w = await world();
    await enrol(w, 'alice', '1234');
    const flow = w.sdk.startChangePin();
    await expectAsk(flow, 'VERIFY_SECOND_FACTOR');
    flow.respond({ type: 'VERIFY_SECOND_FACTOR', pin: '0000' });
    await expectAsk(flow, 'SET_SECOND_FACTOR');
    flow.respond({ type: 'SET_SECOND_FACTOR', pin: '4321' });
    const again = await expectAsk(flow, 'VERIFY_SECOND_FACTOR');
    expect(again.interaction).to.deep.include({ attemptsLeft: 2, purpose: 'change_old' });
    flow.respond({ type: 'VERIFY_SECOND_FACTOR', pin: '1234' });
    expect((await flow.settled()).state).to.equal('DONE');
    const instance = [...w.sfs.instances.values()][0];
    expect(instance?.failures).to.equal(0);
    expect((await login(w, '4321')).state).to.equal('DONE');
  });

  it('wrong current PINs until the lockout end in ERROR pin_locked; the PIN is unchanged', async () => {
    const w = await world();
    await enrol(w, 'alice', '1234');
    const proofBefore = [...w.sfs.instances.values()][0]?.proof;
    const flow = w.sdk.startChangePin();
    await expectAsk(flow, 'VERIFY_SECOND_FACTOR');
    flow.respond({ type: 'VERIFY_SECOND_FACTOR', pin: '0000' });
    await expectAsk(flow, 'SET_SECOND_FACTOR');
    flow.respond({ type: 'SET_SECOND_FACTOR', pin: '4321' });
    for (const left of [2, 1]) {
      const ask = await expectAsk(flow, 'VERIFY_SECOND_FACTOR');
      expect(ask.interaction).to.deep.include({ attemptsLeft: left });
      flow.respond({ type: 'VERIFY_SECOND_FACTOR', pin: '0000' });
    }
    const failed = await expectError(flow, 'pin_locked');
    expect(failed.error?.details.retryAfterSeconds).to.equal(300);
    expect([...w.sfs.instances.values()][0]?.proof).to.equal(proofBefore);
  });

  it('a locked instance is ERROR pin_locked at the first try', async () => {
    const w = await world();
    await enrol(w, 'alice', '1234');
    const instance = [...w.sfs.instances.values()][0];
    if (instance) instance.locked = true;
    const flow = w.sdk.startChangePin();
    await expectAsk(flow, 'VERIFY_SECOND_FACTOR');
    flow.respond({ type: 'VERIFY_SECOND_FACTOR', pin: '1234' });
    await expectAsk(flow, 'SET_SECOND_FACTOR');
    flow.respond({ type: 'SET_SECOND_FACTOR', pin: '4321' });
    await expectError(flow, 'pin_locked');
  });

  for (const [failure, code] of [
    [{ ok: false, error: 'pin_invalid', attemptsLeft: 0 }, 'pin_invalid'],
    [{ ok: false, error: 'pin_blocked' }, 'pin_blocked'],
  ] as const) {
    it(`${failure.error}${'attemptsLeft' in failure ? ' with no attempt left' : ''} ends in ERROR ${code}`, async () => {
      const w = await world();
      await enrol(w, 'alice', '1234');
      w.sfs.failWith = failure;
      const flow = w.sdk.startChangePin();
      await expectAsk(flow, 'VERIFY_SECOND_FACTOR');
      flow.respond({ type: 'VERIFY_SECOND_FACTOR', pin: '0000' });
      await expectAsk(flow, 'SET_SECOND_FACTOR');
      flow.respond({ type: 'SET_SECOND_FACTOR', pin: '4321' });
      const failed = await expectError(flow, code);
      if (code === 'pin_invalid') expect(failed.error?.details.attemptsLeft).to.equal(0);
    });
  }

  it('a new PIN equal to the current one is ERROR invalid_input without asking the SFS', async () => {
    const w = await world();
    await enrol(w, 'alice', '1234');
    const checks = w.sfs.checkedFor.length;
    const flow = w.sdk.startChangePin();
    await expectAsk(flow, 'VERIFY_SECOND_FACTOR');
    flow.respond({ type: 'VERIFY_SECOND_FACTOR', pin: '1234' });
    await expectAsk(flow, 'SET_SECOND_FACTOR');
    flow.respond({ type: 'SET_SECOND_FACTOR', pin: '1234' });
    await expectError(flow, 'invalid_input');
    expect(w.sfs.checkedFor.length).to.equal(checks);
  });

  it('without an account is ERROR account_not_found, an unknown account too (no connection)', async () => {
    const w = await world();
    const opened = w.transports.opened.length;
    await expectError(w.sdk.startChangePin(), 'account_not_found');
    await expectError(w.sdk.startChangePin({ accountId: 'nope' }), 'account_not_found');
    expect(w.transports.opened.length).to.equal(opened);
  });

  it('uses the chosen account for the policy', async () => {
    const w = await world({ servers: ['default', 'other'] });
    await enrol(w, 'alice', '1234', 'default');
    const other = await enrol(w, 'alice', '1234', 'other');
    const flow = w.sdk.startChangePin({ accountId: other.id });
    await expectAsk(flow, 'VERIFY_SECOND_FACTOR');
    flow.respond({ type: 'VERIFY_SECOND_FACTOR', pin: '1234' });
    await expectAsk(flow, 'SET_SECOND_FACTOR');
    flow.respond({ type: 'SET_SECOND_FACTOR', pin: '4321' });
    expect((await flow.settled()).state).to.equal('DONE');
    expect(w.sfs.checkedFor.at(-1)).to.equal(other.server.id);
  });

  it('an instance without a PIN at the SFS is ERROR rejected (pin_not_set) before asking', async () => {
    const w = await world();
    await enrol(w, 'alice', '1234');
    const instance = [...w.sfs.instances.values()][0];
    if (instance) instance.proof = undefined;
    const failed = await expectError(w.sdk.startChangePin(), 'rejected');
    expect(failed.error?.details.reason).to.equal('pin_not_set');
  });

  it('an unreachable SFS is ERROR unreachable; cancel while asking is ERROR cancelled', async () => {
    const w = await world();
    await enrol(w, 'alice', '1234');
    const flow = w.sdk.startChangePin();
    await expectAsk(flow, 'VERIFY_SECOND_FACTOR');
    flow.cancel();
    await expectError(flow, 'cancelled');
    const sdk = w.sdk as unknown as { options: { transports: unknown } };
    sdk.options.transports = async () => {
      throw new Error('ECONNREFUSED');
    };
    await expectError(w.sdk.startChangePin(), 'unreachable');
  });

  it('one active flow: no login while a PIN change waits, and no PIN change while a login waits', async () => {
    const w = await world();
    await enrol(w, 'alice', '1234');
    const change = w.sdk.startChangePin();
    await expectAsk(change, 'VERIFY_SECOND_FACTOR');
    expect(() => w.sdk.startLogin(w.ns.loginUri().uri)).to.throw(/flow_active|change_pin/);
    expect(() => w.sdk.startChangePin()).to.throw(/change_pin flow is still running/);
    change.cancel();
    const login = w.sdk.startLogin(w.ns.loginUri().uri);
    await expectAsk(login, 'CONFIRM');
    expect(() => w.sdk.startChangePin()).to.throw(/login flow is still running/);
    login.cancel();
  });
});
