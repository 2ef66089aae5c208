// `account.rotate` on `/ns/mobile` on every database (HEADLESS_UPGRADE): the old key signs the new one on this
// channel; wrong signatures, replays on another channel and taken keys change nothing; audit; the old key
// opens no channel afterwards and the new one does.
import { expect } from 'chai';
import type { Knex } from 'knex';
import { migrateLatest } from '../../../../auth-server/common/db/migrate.js';
import { b64u } from '../../../../protocol/encoding.js';
import { ChannelError } from '../../../../protocol/index.js';
import { accountRotationSignedData } from '../../../../protocol/mobile/account-rotation.js';
import { describeEachDatabase } from '../../common/db/databases.js';
import {
  expectMessageError,
  type MobileFixture,
  mobileFixture,
  type NsChannel,
  newPhone,
  nsState,
  type Phone,
  rejection,
} from './fixtures.js';

async function sign(phone: Phone, data: Uint8Array): Promise<string> {
  const sig = await crypto.subtle.sign(
    { name: 'ECDSA', hash: 'SHA-256' },
    phone.keyPair.privateKey,
    data as Uint8Array<ArrayBuffer>,
  );
  return b64u(new Uint8Array(sig));
}

/** The request a phone sends on `channel` to move from `old` to `next` (signers overridable for attacks). */
async function rotation(channel: NsChannel, old: Phone, next: Phone, signers = { old, next }) {
  const data = accountRotationSignedData(channel.session.info.transcriptHash, next.thumbprint);
  return {
    newKey: next.jwk,
    oldSignature: await sign(signers.old, data),
    newSignature: await sign(signers.next, data),
  };
}

describeEachDatabase('ns mobile endpoint: account.rotate', (db) => {
  let f: MobileFixture;
  let knex: Knex;

  before(() => migrateLatest(db().knex, 'ns'));
  beforeEach(async () => {
    knex = db().knex;
    f = await mobileFixture(knex);
  });
  afterEach(() => f.close());

  it('switches the account to the new key, audited; the old key opens nothing, the new one logs in', async () => {
    const alice = await f.enrol('alice');
    const next = await newPhone(alice.phone.instanceId);
    const channel = await f.open({ phone: alice.phone });
    expect(await channel.request('account.rotate', await rotation(channel, alice.phone, next))).to.deep.equal(
      {
        status: 'rotated',
        accountId: alice.accountId,
      },
    );
    const row = await knex('ns_accounts').where({ id: alice.accountId }).first();
    expect(row.key_thumbprint).to.equal(next.thumbprint);
    // The channel's authority was the old key.
    expectMessageError(await rejection(channel.request('login.scan', { code: 'x'.repeat(22) })), 'forbidden');
    const err = await rejection(f.open({ phone: alice.phone }));
    expect(err).to.be.instanceOf(ChannelError);
    expect((err as ChannelError).code).to.equal('bad_client_key');
    const fresh = await f.open({ phone: next });
    const { code } = await f.browserLogin();
    const { login } = await fresh.request('login.scan', { code });
    const attestation = await f.attestFor(fresh, next, 'login');
    expect(await fresh.request('login.confirm', { login, attestation })).to.deep.include({
      status: 'loggedin',
    });
    const { events } = await f.audit.query({
      types: ['account.updated'],
      subject: { kind: 'account', id: alice.accountId },
    });
    expect(events).to.have.length(1);
    expect(events[0]?.actor).to.deep.include({ kind: 'account', id: alice.accountId });
    expect(events[0]?.details).to.deep.include({ change: 'key_rotated', keyThumbprint: next.thumbprint });
  });

  it('refuses a wrong old-key or new-key signature, and a rotation signed for another channel; nothing changes', async () => {
    const alice = await f.enrol('alice');
    const next = await newPhone(alice.phone.instanceId);
    const stranger = await newPhone();
    const channel = await f.open({ phone: alice.phone });
    const other = await f.open({ phone: alice.phone });
    const before = await nsState(knex);
    for (const body of [
      await rotation(channel, alice.phone, next, { old: stranger, next }),
      await rotation(channel, alice.phone, next, { old: alice.phone, next: stranger }),
      // Signed on another channel of the same key: its transcript differs.
      await rotation(other, alice.phone, next),
    ])
      expectMessageError(await rejection(channel.request('account.rotate', body)), 'bad_signature');
    expect(await nsState(knex)).to.deep.equal(before);
    // The channel still works after the refusals.
    const ok = await channel.request('account.rotate', await rotation(channel, alice.phone, next));
    expect(ok.status).to.equal('rotated');
  });

  it("refuses another account's key (account_key_exists) and the same key; nothing changes", async () => {
    const alice = await f.enrol('alice');
    const bob = await f.enrol('bob');
    const channel = await f.open({ phone: alice.phone });
    const before = await nsState(knex);
    expectMessageError(
      await rejection(channel.request('account.rotate', await rotation(channel, alice.phone, bob.phone))),
      'account_key_exists',
    );
    expectMessageError(
      await rejection(channel.request('account.rotate', await rotation(channel, alice.phone, alice.phone))),
      'account_key_exists',
    );
    expect(await nsState(knex)).to.deep.equal(before);
  });

  it('of two channels racing to rotate one account, exactly one wins', async () => {
    const alice = await f.enrol('alice');
    const a = await f.open({ phone: alice.phone });
    const b = await f.open({ phone: alice.phone });
    const [na, nb] = [await newPhone(alice.phone.instanceId), await newPhone(alice.phone.instanceId)];
    const results = await Promise.allSettled([
      a.request('account.rotate', await rotation(a, alice.phone, na)),
      b.request('account.rotate', await rotation(b, alice.phone, nb)),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
    const loser = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expectMessageError(loser.reason, 'account_unknown');
    const row = await knex('ns_accounts').where({ id: alice.accountId }).first();
    expect([na.thumbprint, nb.thumbprint]).to.include(row.key_thumbprint);
  });

  it("a second channel of the phone rotating after the first has: account_unknown, the first's key stays", async () => {
    const alice = await f.enrol('alice');
    const a = await f.open({ phone: alice.phone });
    const b = await f.open({ phone: alice.phone });
    const [na, nb] = [await newPhone(alice.phone.instanceId), await newPhone(alice.phone.instanceId)];
    const late = await rotation(b, alice.phone, nb);
    await a.request('account.rotate', await rotation(a, alice.phone, na));
    expectMessageError(await rejection(b.request('account.rotate', late)), 'account_unknown');
    const row = await knex('ns_accounts').where({ id: alice.accountId }).first();
    expect(row.key_thumbprint).to.equal(na.thumbprint);
  });

  it('is refused on an enrolment (anonymous) channel', async () => {
    const channel = await f.open({});
    const next = await newPhone();
    const body = { newKey: next.jwk, oldSignature: 'A'.repeat(86), newSignature: 'A'.repeat(86) };
    expectMessageError(await rejection(channel.request('account.rotate', body)), 'forbidden');
  });
});
