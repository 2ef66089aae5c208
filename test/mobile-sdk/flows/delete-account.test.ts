// DELETE_ACCOUNT flow against the fake NS: deleted at NS then on the device; local only; gone at NS; failures.
import { expect } from 'chai';
import { world } from '../fakes.js';
import { enrol, expectAsk, expectError, trail } from './helpers.js';

describe('mobile-sdk/core/flows: DELETE_ACCOUNT', () => {
  it('deletes at NS over the account channel, then the account and its key on the device', async () => {
    const w = await world();
    const alice = await enrol(w, 'alice');
    const bob = await enrol(w, 'bob');
    const flow = w.sdk.startDeleteAccount(alice.id);
    const done = await flow.settled();
    expect(done.state, done.error?.message).to.equal('DONE');
    expect(done.result).to.deep.include({ ns: 'deleted' });
    expect(trail(flow)).to.deep.equal(['PROCESSING', 'DONE']);
    expect(w.ns.deleted).to.deep.equal([alice.nsAccountId]);
    expect((await w.sdk.accounts()).map((a) => a.id)).to.deep.equal([bob.id]);
    expect(await w.keyStore.has(alice.accountKeyAlias)).to.equal(false);
    expect(await w.keyStore.has(bob.accountKeyAlias)).to.equal(true);
    // The other account still logs in.
    const login = w.sdk.startLogin(w.ns.loginUri().uri);
    const confirm = await expectAsk(login, 'CONFIRM');
    expect(confirm.interaction?.type === 'CONFIRM' && confirm.interaction.context.userid).to.equal('bob');
    login.cancel();
  });

  it('a login QR for the deleted account finds no account on the device', async () => {
    const w = await world();
    const alice = await enrol(w, 'alice');
    expect((await w.sdk.startDeleteAccount(alice.id).settled()).state).to.equal('DONE');
    await expectError(w.sdk.startLogin(w.ns.loginUri().uri), 'account_not_found');
  });

  it('localOnly removes it from the device without asking NS', async () => {
    const w = await world();
    const alice = await enrol(w, 'alice');
    const opened = w.transports.opened.length;
    const done = await w.sdk.startDeleteAccount(alice.id, { localOnly: true }).settled();
    expect(done.result).to.deep.include({ ns: 'skipped' });
    expect(w.transports.opened.length).to.equal(opened);
    expect(w.ns.deleted).to.deep.equal([]);
    expect(await w.sdk.accounts()).to.deep.equal([]);
    expect(await w.keyStore.has(alice.accountKeyAlias)).to.equal(false);
  });

  it('an account NS no longer knows (removed by an admin) is removed here too (ns: not_found)', async () => {
    const w = await world();
    const alice = await enrol(w, 'alice');
    w.ns.accounts.clear();
    const done = await w.sdk.startDeleteAccount(alice.id).settled();
    expect(done.state, done.error?.message).to.equal('DONE');
    expect(done.result).to.deep.include({ ns: 'not_found' });
    expect(await w.sdk.accounts()).to.deep.equal([]);
  });

  it('an unreachable NS is ERROR unreachable and keeps the account and its key', async () => {
    const w = await world();
    const alice = await enrol(w, 'alice');
    const sdk = w.sdk as unknown as { options: { transports: unknown } };
    sdk.options.transports = async () => {
      throw new Error('ECONNREFUSED');
    };
    await expectError(w.sdk.startDeleteAccount(alice.id), 'unreachable');
    expect((await w.sdk.accounts()).map((a) => a.id)).to.deep.equal([alice.id]);
    expect(await w.keyStore.has(alice.accountKeyAlias)).to.equal(true);
  });

  it('a server key that is not the pinned one is ERROR bad_server_key; nothing is deleted', async () => {
    const w = await world();
    const alice = await enrol(w, 'alice');
    await w.ns.rotateKey('default', false);
    await expectError(w.sdk.startDeleteAccount(alice.id), 'bad_server_key');
    expect(w.ns.accounts.size).to.equal(1);
    expect(await w.sdk.accounts()).to.have.length(1);
  });

  it('NS refusing the deletion is ERROR rejected with its code; the device keeps the account', async () => {
    const w = await world();
    const alice = await enrol(w, 'alice');
    w.ns.refuseDelete = 'internal';
    const failed = await expectError(w.sdk.startDeleteAccount(alice.id), 'rejected');
    expect(failed.error?.details.reason).to.equal('internal');
    expect(await w.sdk.accounts()).to.have.length(1);
    expect(await w.keyStore.has(alice.accountKeyAlias)).to.equal(true);
    const [entry] = await w.sdk.history();
    expect(entry).to.deep.include({ flow: 'delete_account', outcome: 'ERROR', userid: 'alice' });
    expect(entry?.error).to.deep.equal({ code: 'rejected', reason: 'internal' });
  });

  it('an unknown local account is ERROR account_not_found', async () => {
    const w = await world();
    await enrol(w, 'alice');
    await expectError(w.sdk.startDeleteAccount('nope'), 'account_not_found');
    expect(await w.sdk.accounts()).to.have.length(1);
  });

  it('works without an SDK configuration (only NS is involved)', async () => {
    const w = await world();
    const alice = await enrol(w, 'alice');
    (w.sdk as unknown as { config: null }).config = null;
    const done = await w.sdk.startDeleteAccount(alice.id).settled();
    expect(done.state, done.error?.message).to.equal('DONE');
  });

  it('one active flow: no deletion while a login waits; removeAccount too is flow_active', async () => {
    const w = await world();
    const alice = await enrol(w, 'alice');
    const login = w.sdk.startLogin(w.ns.loginUri().uri);
    await expectAsk(login, 'CONFIRM');
    expect(() => w.sdk.startDeleteAccount(alice.id)).to.throw(/login flow is still running/);
    let code: string | undefined;
    await w.sdk.removeAccount(alice.id).catch((err: { code?: string }) => {
      code = err.code;
    });
    expect(code).to.equal('flow_active');
    expect(await w.sdk.accounts()).to.have.length(1);
    login.cancel();
    await w.sdk.removeAccount(alice.id);
    expect(await w.sdk.accounts()).to.deep.equal([]);
  });
});
