// The pushKey binding on `/ns/mobile`: NS takes an app-instance key thumbprint as where an account's pushes go
// only with that instance key's signature over the same channel. Another instance's key, no proof, or a proof
// of another channel is refused (`invalid_push_key`) before anything changes: the enrol token stays usable,
// the login stays scanned, the account's push target stays as it was.
import { expect } from 'chai';
import type { Knex } from 'knex';
import { migrateLatest } from '../../../../auth-server/common/db/migrate.js';
import { signerFromKeyPair } from '../../../../protocol/keys.js';
import { type PushKeyProof, pushKeyProof } from '../../../../protocol/mobile/push-key.js';
import { parseEnrolUri } from '../../../../protocol/mobile/uris.js';
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

describeEachDatabase('ns mobile pushKey binding', (db) => {
  let f: MobileFixture;
  let knex: Knex;

  before(() => migrateLatest(db().knex, 'ns'));
  beforeEach(async () => {
    knex = db().knex;
    f = await mobileFixture(knex);
  });
  afterEach(() => f.close());

  /** The app-instance key of a phone (separate from its account key, as in the SDK). */
  const instance = () => newPhone();
  const proofBy = async (p: Phone, channel: NsChannel): Promise<PushKeyProof> =>
    pushKeyProof(await signerFromKeyPair(p.keyPair), channel.session.info.transcriptHash);
  const pushTarget = async (accountId: string) =>
    ((await knex('ns_accounts').where({ id: accountId }).first()) as { push_key_thumbprint: string | null })
      .push_key_thumbprint;

  async function enrolChannel(userid: string) {
    const link = await f.accounts.createEnrolLink({ server: 'acme', userid });
    const data = parseEnrolUri(link.uri);
    const channel = await f.open({ fingerprint: data.fp });
    await channel.request('enrol.begin', { token: data.t });
    const phone = await newPhone();
    return { channel, token: data.t, phone, attestation: await f.attestFor(channel, phone, 'enrol') };
  }

  it('enrol.complete takes the pushKey with a proof by that instance key on this channel', async () => {
    const e = await enrolChannel('alice');
    const own = await instance();
    const done = await e.channel.request('enrol.complete', {
      token: e.token,
      accountKey: e.phone.jwk,
      attestation: e.attestation,
      pushKey: own.thumbprint,
      pushKeyProof: await proofBy(own, e.channel),
    });
    expect(await pushTarget(done.accountId)).to.equal(own.thumbprint);
  });

  it('enrol.complete refuses another instance key, no proof and a proof of another channel; nothing changes', async () => {
    const e = await enrolChannel('alice');
    const own = await instance();
    const victim = await instance();
    const other = await f.open({});
    const base = { token: e.token, accountKey: e.phone.jwk, attestation: e.attestation };
    const before = await nsState(knex);
    const attempts: Record<string, unknown>[] = [
      // Names the victim's instance with a proof by its own key.
      { pushKey: victim.thumbprint, pushKeyProof: await proofBy(own, e.channel) },
      // The victim's key with its own key's JWK but a signature it could not make: own key signs.
      {
        pushKey: victim.thumbprint,
        pushKeyProof: { ...(await proofBy(own, e.channel)), instanceKey: victim.jwk },
      },
      { pushKey: own.thumbprint },
      // A proof made on another channel (replayed from elsewhere).
      { pushKey: own.thumbprint, pushKeyProof: await proofBy(own, other) },
    ];
    for (const extra of attempts) {
      const err = await rejection(
        e.channel.request('enrol.complete', { ...base, ...extra } as Parameters<NsChannel['request']>[1] &
          typeof base),
      );
      expectMessageError(err, 'invalid_push_key');
      expect(await nsState(knex)).to.deep.equal(before);
    }
    // The token was not used up: the enrolment still completes, with its own instance key.
    const done = await e.channel.request('enrol.complete', {
      ...base,
      pushKey: own.thumbprint,
      pushKeyProof: await proofBy(own, e.channel),
    });
    expect(await pushTarget(done.accountId)).to.equal(own.thumbprint);
  });

  it('login.confirm refuses another instance key: the login stays scanned, the push target unchanged', async () => {
    const own = await instance();
    const alice = await f.enrol('alice');
    const channel = await f.open({ phone: alice.phone });
    const { code, sessionId } = await f.browserLogin();
    const scanned = await channel.request('login.scan', { code });
    const attestation = await f.attestFor(channel, alice.phone, 'login');
    const victim = await instance();
    const before = await nsState(knex);
    expectMessageError(
      await rejection(
        channel.request('login.confirm', {
          login: scanned.login,
          attestation,
          pushKey: victim.thumbprint,
          pushKeyProof: await proofBy(own, channel),
        }),
      ),
      'invalid_push_key',
    );
    expect(await nsState(knex)).to.deep.equal(before);
    expect((await knex('ns_sessions').where({ id: sessionId }).first()).state).to.equal('scanned');
    const confirmed = await channel.request('login.confirm', {
      login: scanned.login,
      attestation,
      pushKey: own.thumbprint,
      pushKeyProof: await proofBy(own, channel),
    });
    expect(confirmed).to.deep.equal({ status: 'loggedin' });
    expect(await pushTarget(alice.accountId)).to.equal(own.thumbprint);
  });
});
