// HEADLESS_UPGRADE against the fake NS: account keys rotated without the user, interruptions retried safely,
// and a rotation NS refuses leaving the account as it was.
import { expect } from 'chai';
import { type World, world } from '../fakes.js';
import { enrol, expectAsk, trail } from './helpers.js';

async function login(w: World) {
  const flow = w.sdk.startLogin(w.ns.loginUri().uri);
  await expectAsk(flow, 'CONFIRM');
  flow.respond({ type: 'CONFIRM', decision: 'approve' });
  await expectAsk(flow, 'VERIFY_SECOND_FACTOR');
  flow.respond({ type: 'VERIFY_SECOND_FACTOR', pin: '1234' });
  return flow.settled();
}

describe('mobile-sdk/core/flows: HEADLESS_UPGRADE', () => {
  it('rotates every account key with NS without asking anything; logins use the new key', async () => {
    const w = await world({ servers: ['default', 'other'] });
    const a = await enrol(w, 'alice', '1234', 'default');
    const b = await enrol(w, 'bob', '1234', 'other');
    const flow = w.sdk.startHeadlessUpgrade();
    const done = await flow.settled();
    expect(done.state, done.error?.message).to.equal('DONE');
    expect(done.result?.failed).to.deep.equal([]);
    expect([...(done.result?.rotated ?? [])].sort()).to.deep.equal([a.id, b.id].sort());
    expect(trail(flow)).to.deep.equal(['PROCESSING', 'DONE']);
    const after = await w.sdk.accounts();
    const alice = after.find((x) => x.id === a.id);
    expect(alice?.accountKeyThumbprint).to.not.equal(a.accountKeyThumbprint);
    expect(alice?.accountKeyAlias).to.not.equal(a.accountKeyAlias);
    expect(alice?.pendingKeyAlias).to.equal(undefined);
    // The old keys are gone; NS knows only the new ones.
    expect(await w.keyStore.has(a.accountKeyAlias)).to.equal(false);
    expect(w.ns.accounts.has(a.accountKeyThumbprint)).to.equal(false);
    expect(w.ns.accounts.has(alice?.accountKeyThumbprint ?? '')).to.equal(true);
    expect(w.ns.rotations).to.have.length(2);
    const l = await login(w);
    expect(l.state, l.error?.message).to.equal('DONE');
    expect((await w.sdk.history())[1]).to.deep.include({ flow: 'headless_upgrade', outcome: 'UPGRADED' });
  });

  it('a refusal before NS switched keeps the old key; the retry offers the same new key and succeeds', async () => {
    const w = await world();
    const a = await enrol(w, 'alice');
    w.ns.refuseRotate = 'internal';
    const first = await w.sdk.startHeadlessUpgrade().settled();
    expect(first.result?.rotated).to.deep.equal([]);
    expect(first.result?.failed).to.deep.equal([{ accountId: a.id, code: 'rejected', reason: 'internal' }]);
    const pending = (await w.sdk.accounts())[0];
    expect(pending?.accountKeyAlias).to.equal(a.accountKeyAlias);
    expect(pending?.pendingKeyAlias).to.be.a('string');
    // The account still works with its old key meanwhile.
    expect((await login(w)).state).to.equal('DONE');

    w.ns.refuseRotate = null;
    const second = await w.sdk.startHeadlessUpgrade().settled();
    expect(second.result).to.deep.equal({ rotated: [a.id], failed: [] });
    const now = (await w.sdk.accounts())[0];
    expect(now?.accountKeyAlias).to.equal(pending?.pendingKeyAlias);
    expect((await w.sdk.history())[0]).to.deep.include({ outcome: 'UPGRADED' });
    expect((await w.sdk.history())[2]).to.deep.include({ outcome: 'UPGRADED', reason: 'partial' });
  });

  it('an answer lost after NS switched: the retry finds NS on the new key and finishes only the device side', async () => {
    const w = await world();
    const a = await enrol(w, 'alice');
    w.ns.loseRotateAnswer = true;
    const first = await w.sdk.startHeadlessUpgrade().settled();
    expect(first.result?.failed).to.have.length(1);
    const half = (await w.sdk.accounts())[0];
    expect(half?.accountKeyAlias).to.equal(a.accountKeyAlias);
    expect(w.ns.rotations).to.have.length(1);

    w.ns.loseRotateAnswer = false;
    const second = await w.sdk.startHeadlessUpgrade().settled();
    expect(second.result).to.deep.equal({ rotated: [a.id], failed: [] });
    // NS was not asked twice: the new key already opened a channel.
    expect(w.ns.rotations).to.have.length(1);
    const now = (await w.sdk.accounts())[0];
    expect(now?.accountKeyAlias).to.equal(half?.pendingKeyAlias);
    expect(now?.accountKeyThumbprint).to.equal(w.ns.rotations[0]?.to);
    expect(await w.keyStore.has(a.accountKeyAlias)).to.equal(false);
    expect((await login(w)).state).to.equal('DONE');
  });

  it('NS unreachable: nothing changes but the recorded next key; an unknown account id is account_not_found', async () => {
    const w = await world();
    const a = await enrol(w, 'alice');
    w.transports.refuse = true;
    const done = await w.sdk.startHeadlessUpgrade({ accountId: a.id }).settled();
    expect(done.result?.failed).to.deep.equal([{ accountId: a.id, code: 'unreachable' }]);
    expect((await w.sdk.accounts())[0]?.accountKeyThumbprint).to.equal(a.accountKeyThumbprint);
    const none = await w.sdk.startHeadlessUpgrade({ accountId: 'nope' }).settled();
    expect(none.error?.code).to.equal('account_not_found');
  });
});
