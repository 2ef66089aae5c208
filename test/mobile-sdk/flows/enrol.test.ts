// ENROL flow against a fake NS and SFS over the real secure channel: states, binding, PIN set, failures.
import { expect } from 'chai';
import { ACCOUNTS_KEY } from '../../../mobile-sdk/core/accounts/store.js';
import { parseEnrolUri } from '../../../protocol/mobile/uris.js';
import { visualHash } from '../../../protocol/visual-hash.js';
import { world } from '../fakes.js';
import { enrol, expectAsk, expectError, trail } from './helpers.js';

describe('mobile-sdk/core/flows: ENROL', () => {
  it("shows the integrator's announceinfo and keeps it with the account", async () => {
    const w = await world();
    const flow = w.sdk.startEnrol(await w.ns.enrolUri('alice', 'default', undefined, 'Alice Smith, Finance'));
    const confirm = await expectAsk(flow, 'CONFIRM');
    if (confirm.interaction?.type !== 'CONFIRM') throw new Error('unreachable');
    expect(confirm.interaction.context.info).to.equal('Alice Smith, Finance');
    flow.respond({ type: 'CONFIRM', decision: 'approve' });
    await expectAsk(flow, 'SET_SECOND_FACTOR');
    flow.respond({ type: 'SET_SECOND_FACTOR', pin: '1234' });
    const done = await flow.settled();
    expect(done.state, done.error?.message).to.equal('DONE');
    const [account] = await w.sdk.accounts();
    expect(account?.info).to.equal('Alice Smith, Finance');
  });

  it('confirms, sets the first PIN, binds the new key and stores the account pinned to the server key', async () => {
    const w = await world();
    const uri = await w.ns.enrolUri('alice');
    const flow = w.sdk.startEnrol(uri);
    const confirm = await expectAsk(flow, 'CONFIRM');
    expect(confirm.interaction).to.deep.include({ type: 'CONFIRM' });
    if (confirm.interaction?.type !== 'CONFIRM') throw new Error('unreachable');
    expect(confirm.interaction.context).to.deep.include({ kind: 'enrol', userid: 'alice' });
    expect(confirm.interaction.context.server).to.deep.equal({
      id: 'https://ns.test/ns/default',
      name: 'default',
      displayName: 'Server default',
      nsUrl: 'https://ns.test',
    });
    // The pictures of the key the QR pins: what the enrol page shows next to the QR.
    expect(confirm.interaction.context.serverKey).to.deep.equal(visualHash(parseEnrolUri(uri).fp));
    flow.respond({ type: 'CONFIRM', decision: 'approve' });
    await expectAsk(flow, 'SET_SECOND_FACTOR');
    flow.respond({ type: 'SET_SECOND_FACTOR', pin: '1234' });
    const done = await flow.settled();
    expect(done.state, done.error?.message).to.equal('DONE');
    // The PIN just set is reused for the attestation: no VERIFY_SECOND_FACTOR in between.
    expect(trail(flow)).to.deep.equal([
      'PROCESSING',
      'WAIT:CONFIRM',
      'PROCESSING',
      'WAIT:SET_SECOND_FACTOR',
      'PROCESSING',
      'DONE',
    ]);
    if (done.result?.outcome !== 'enrolled') throw new Error('not enrolled');
    const { account } = done.result;
    expect(account.userid).to.equal('alice');
    expect(account.nsAccountId).to.equal('acct-1');
    expect(account.server.keyThumbprint).to.equal(await w.ns.fingerprint());
    expect(account.lastLoginAt).to.equal(null);
    expect(account.createdAt).to.equal(w.clock.now());
    expect(await w.keyStore.has(account.accountKeyAlias)).to.equal(true);
    expect(await w.sdk.accounts()).to.deep.equal([account]);
    // The fake NS accepted the attestation only if it was bound to its channel and to this key.
    expect([...w.ns.accounts.values()]).to.deep.equal([
      { server: 'default', userid: 'alice', accountId: 'acct-1' },
    ]);
    // The signed configuration goes along, for servers that enrol only apps of listed publishers.
    expect(w.ns.completes).to.deep.equal([
      { description: 'test device', clientVersion: 'test/1', sdkConfig: w.jws },
    ]);
    expect((await w.sdk.instance())?.pinSet).to.equal(true);
    expect(w.sfs.targets).to.deep.equal(['sfs.test:sfs']);
  });

  it('asks for the existing PIN when the instance already has one', async () => {
    const w = await world({ servers: ['default', 'other'] });
    await enrol(w, 'alice');
    const flow = w.sdk.startEnrol(await w.ns.enrolUri('alice2', 'other'));
    await expectAsk(flow, 'CONFIRM');
    flow.respond({ type: 'CONFIRM', decision: 'approve' });
    const verify = await expectAsk(flow, 'VERIFY_SECOND_FACTOR');
    expect(verify.interaction).to.deep.include({ attemptsLeft: null });
    flow.respond({ type: 'VERIFY_SECOND_FACTOR', pin: '1234' });
    expect((await flow.settled()).state).to.equal('DONE');
    const accounts = await w.sdk.accounts();
    expect(accounts.map((a) => [a.userid, a.server.name])).to.deep.equal([
      ['alice', 'default'],
      ['alice2', 'other'],
    ]);
  });

  it('declining stores nothing, creates no account key and leaves the token unused', async () => {
    const w = await world();
    const uri = await w.ns.enrolUri('alice');
    const flow = w.sdk.startEnrol(uri);
    await expectAsk(flow, 'CONFIRM');
    flow.respond({ type: 'CONFIRM', decision: 'decline' });
    const done = await flow.settled();
    expect(done.state).to.equal('DONE');
    expect(done.result).to.deep.equal({ outcome: 'declined' });
    expect(await w.sdk.accounts()).to.deep.equal([]);
    expect([...w.keyStore.keys.keys()].filter((a) => a.startsWith('account-'))).to.deep.equal([]);
    expect([...w.ns.tokens.values()].every((t) => !t.used)).to.equal(true);
    expect(w.sfs.instances.size).to.equal(0);
  });

  it('refuses a server whose key does not match the QR fingerprint: ERROR bad_server_key, nothing stored', async () => {
    const w = await world();
    const wrongFp = 'A'.repeat(43);
    const flow = w.sdk.startEnrol(await w.ns.enrolUri('alice', 'default', wrongFp));
    await expectError(flow, 'bad_server_key');
    expect(trail(flow)).to.deep.equal(['PROCESSING', 'ERROR:bad_server_key']);
    expect(w.storage.docs.has(ACCOUNTS_KEY)).to.equal(false);
    expect(w.keyStore.keys.size).to.equal(0);
  });

  it('a malformed URI ends in ERROR invalid_uri before any connection', async () => {
    const w = await world();
    const flow = w.sdk.startEnrol('nextauth://login?d=e30');
    await expectError(flow, 'invalid_uri');
    expect(w.transports.opened).to.deep.equal([]);
  });

  it('a used token is refused by the server (rejected, with its code) and the account key is removed', async () => {
    const w = await world();
    const uri = await w.ns.enrolUri('alice');
    const flow = w.sdk.startEnrol(uri);
    await expectAsk(flow, 'CONFIRM');
    for (const t of w.ns.tokens.values()) t.used = true;
    flow.respond({ type: 'CONFIRM', decision: 'approve' });
    await expectAsk(flow, 'SET_SECOND_FACTOR');
    flow.respond({ type: 'SET_SECOND_FACTOR', pin: '1234' });
    const failed = await expectError(flow, 'rejected');
    expect(failed.error?.details.reason).to.equal('invalid_token');
    expect([...w.keyStore.keys.keys()].filter((a) => a.startsWith('account-'))).to.deep.equal([]);
    expect(await w.sdk.accounts()).to.deep.equal([]);
  });

  it('an unreachable NS is `unreachable`', async () => {
    const w = await world();
    const uri = (await w.ns.enrolUri('alice')).replace(/d=.*/, '');
    const data = JSON.parse(
      Buffer.from((await w.ns.enrolUri('alice')).split('d=')[1] ?? '', 'base64url').toString(),
    );
    const other = `${uri}d=${Buffer.from(JSON.stringify({ ...data, ns: 'https://down.test' })).toString('base64url')}`;
    await expectError(w.sdk.startEnrol(other), 'unreachable');
  });
});
