// The attestation's method travels with the login: NS keeps `pin` or `bio` on the session it logs in, for the
// IdP's `amr`; a refused confirmation stores none.
import { expect } from 'chai';
import type { Knex } from 'knex';
import { migrateLatest } from '../../../../auth-server/common/db/migrate.js';
import { describeEachDatabase } from '../../common/db/databases.js';
import { type MobileFixture, mobileFixture, rejection } from './fixtures.js';

describeEachDatabase('ns mobile login: the method of the confirming attestation', (db) => {
  let f: MobileFixture;
  let knex: Knex;

  before(() => migrateLatest(db().knex, 'ns'));
  beforeEach(async () => {
    knex = db().knex;
    f = await mobileFixture(knex);
  });
  afterEach(() => f.close());

  async function confirmWith(method: 'pin' | 'bio' | undefined) {
    const alice = await f.enrol('alice');
    const channel = await f.open({ phone: alice.phone });
    const { nonce, code, sessionId } = await f.browserLogin();
    const { login } = await channel.request('login.scan', { code });
    const attestation = await f.attestFor(channel, alice.phone, 'login', method ? { method } : {});
    await channel.request('login.confirm', { login, attestation });
    return { nonce, sessionId };
  }

  it('a biometric attestation logs in with auth_method bio', async () => {
    const { nonce, sessionId } = await confirmWith('bio');
    expect((await f.sessions.findByNonce(nonce))?.authMethod).to.equal('bio');
    const row = await knex('ns_sessions').where({ id: sessionId }).first();
    expect(row.auth_method).to.equal('bio');
    // The scan kept the account, so an SFS lockout of this phone can end the browser's wait.
    expect(row.scan_account_id).to.equal((await f.sessions.findByNonce(nonce))?.accountId);
  });

  it('a PIN attestation logs in with auth_method pin', async () => {
    const { nonce } = await confirmWith('pin');
    expect((await f.sessions.findByNonce(nonce))?.authMethod).to.equal('pin');
  });

  it('a refused confirmation stores no method', async () => {
    const alice = await f.enrol('alice');
    const channel = await f.open({ phone: alice.phone });
    const { code, sessionId } = await f.browserLogin();
    const { login } = await channel.request('login.scan', { code });
    const wrong = await f.attestFor(channel, alice.phone, 'enrol', { method: 'bio' });
    await rejection(channel.request('login.confirm', { login, attestation: wrong }));
    const row = await knex('ns_sessions').where({ id: sessionId }).first();
    expect(row.state).to.equal('scanned');
    expect(row.auth_method).to.equal(null);
  });
});
