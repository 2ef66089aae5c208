// `account.delete` on `/ns/mobile` on every database: the phone deletes its own account with the key that
// authenticated the channel; audit, refusals that change nothing, the key opening nothing afterwards, races.
import { expect } from 'chai';
import type { Knex } from 'knex';
import { migrateLatest } from '../../../../auth-server/common/db/migrate.js';
import { ChannelError } from '../../../../protocol/index.js';
import { describeEachDatabase } from '../../common/db/databases.js';
import {
  expectMessageError,
  type MobileFixture,
  mobileFixture,
  nsState,
  phoneIp,
  rejection,
} from './fixtures.js';

describeEachDatabase('ns mobile endpoint: account.delete', (db) => {
  let f: MobileFixture;
  let knex: Knex;

  before(() => migrateLatest(db().knex, 'ns'));
  beforeEach(async () => {
    knex = db().knex;
    f = await mobileFixture(knex);
  });
  afterEach(() => f.close());

  const deletions = async (accountId: string) =>
    (await f.audit.query({ types: ['account.deleted'], subject: { kind: 'account', id: accountId } })).events;

  it('deletes the channel account, audited with the account as actor; its key then opens no channel', async () => {
    const alice = await f.enrol('alice');
    const bob = await f.enrol('bob');
    const channel = await f.open({ phone: alice.phone });
    expect(await channel.request('account.delete', {})).to.deep.equal({
      status: 'deleted',
      accountId: alice.accountId,
    });
    expect(await knex('ns_accounts').where({ id: alice.accountId }).first()).to.equal(undefined);
    const [event, ...more] = await deletions(alice.accountId);
    expect(more).to.deep.equal([]);
    expect(event).to.deep.include({
      type: 'account.deleted',
      actor: { kind: 'account', id: alice.accountId },
      subject: { kind: 'account', id: alice.accountId },
      ip: phoneIp,
      userAgent: 'nextauth-test',
    });
    expect(event?.server?.name).to.equal('acme');
    expect(event?.details).to.deep.equal({ userid: 'alice', keyThumbprint: alice.phone.thumbprint });
    const refused = await rejection(f.open({ phone: alice.phone }));
    expect(refused).to.be.instanceOf(ChannelError);
    expect((refused as ChannelError).code).to.equal('bad_client_key');
    // Bob's account is untouched and still logs in.
    const bobChannel = await f.open({ phone: bob.phone });
    const { code } = await f.browserLogin();
    expect((await bobChannel.request('login.scan', { code })).userid).to.equal('bob');
  });

  it('the channel refuses everything after the deletion, its scanned logins included', async () => {
    const alice = await f.enrol('alice');
    const channel = await f.open({ phone: alice.phone });
    const { code, sessionId } = await f.browserLogin();
    const { login } = await channel.request('login.scan', { code });
    await channel.request('account.delete', {});
    const next = await f.browserLogin();
    const before = await nsState(knex);
    expectMessageError(
      await rejection(
        channel.request('login.confirm', {
          login,
          attestation: await f.attestFor(channel, alice.phone, 'login'),
        }),
      ),
      'forbidden',
    );
    expectMessageError(
      await rejection(channel.request('login.decline', { login, reason: 'declined' })),
      'forbidden',
    );
    expectMessageError(await rejection(channel.request('login.scan', { code: next.code })), 'forbidden');
    expectMessageError(await rejection(channel.request('account.delete', {})), 'forbidden');
    expect(await nsState(knex)).to.deep.equal(before);
    expect(await deletions(alice.accountId)).to.have.length(1);
    expect((await knex('ns_sessions').where({ id: sessionId }).first())?.state).to.not.equal('loggedin');
  });

  it('is refused on an anonymous (enrolment) channel with forbidden, changing nothing', async () => {
    await f.enrol('alice');
    const channel = await f.open({});
    const before = await nsState(knex);
    expectMessageError(await rejection(channel.request('account.delete', {})), 'forbidden');
    expect(await nsState(knex)).to.deep.equal(before);
  });

  it('refuses a body with unknown members (nothing deleted)', async () => {
    const alice = await f.enrol('alice');
    const channel = await f.open({ phone: alice.phone });
    const before = await nsState(knex);
    const err = await rejection(
      channel.request('account.delete', { accountId: 'other' } as unknown as Record<string, never>),
    );
    // The strict request schema refuses it (both channel ends check it); the server never acts on it.
    expect(err).to.have.property('code', 'bad_request');
    expect(await nsState(knex)).to.deep.equal(before);
    expect(await deletions(alice.accountId)).to.deep.equal([]);
  });

  it('an account an admin deleted while the channel was open is unknown_account (no second event)', async () => {
    const alice = await f.enrol('alice');
    const channel = await f.open({ phone: alice.phone });
    const server = await knex('ns_virtual_servers').where({ name: 'acme' }).first();
    await f.accountAdmin.delete({ id: server.id, name: 'acme' }, alice.accountId, {
      actor: { kind: 'apikey', id: 'k1' },
      ip: null,
      userAgent: null,
    });
    expectMessageError(await rejection(channel.request('account.delete', {})), 'unknown_account');
    expect(await deletions(alice.accountId)).to.have.length(1);
  });

  it('two channels of one key racing account.delete: exactly one deletes, one event', async () => {
    const alice = await f.enrol('alice');
    const channels = await Promise.all([f.open({ phone: alice.phone }), f.open({ phone: alice.phone })]);
    const results = await Promise.allSettled(channels.map((c) => c.request('account.delete', {})));
    expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
    const [lost] = results.filter((r) => r.status === 'rejected');
    expectMessageError((lost as PromiseRejectedResult).reason, 'unknown_account');
    expect(await deletions(alice.accountId)).to.have.length(1);
  });
});
