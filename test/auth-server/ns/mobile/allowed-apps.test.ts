// Allowed apps at enrolment: a server that lists trusted SDK-configuration publishers enrols only phones
// whose app sends a configuration one of them signed, naming the SFS that attested; every refusal leaves
// the token usable and stores nothing.
import { expect } from 'chai';
import type { Knex } from 'knex';
import { migrateLatest } from '../../../../auth-server/common/db/migrate.js';
import { generatePublisherKey, type PublisherKey } from '../../../../idp/admin/sdk-config/publisher-key.js';
import { signSdkConfig } from '../../../../idp/admin/sdk-config/sign.js';
import {
  exportPublicKeyRaw,
  generateIdentityKeyPair,
  MessageError,
  publicKeyToJwk,
} from '../../../../protocol/index.js';
import { parseEnrolUri } from '../../../../protocol/mobile/uris.js';
import { describeEachDatabase } from '../../common/db/databases.js';
import { type MobileFixture, mobileFixture, newPhone, nsState, rejection } from './fixtures.js';

describeEachDatabase('ns allowed apps at enrolment', (db) => {
  let f: MobileFixture;
  let knex: Knex;
  let trusted: PublisherKey;
  let stranger: PublisherKey;

  before(async () => {
    await migrateLatest(db().knex, 'ns');
    trusted = await generatePublisherKey();
    stranger = await generatePublisherKey();
  });
  beforeEach(async () => {
    knex = db().knex;
    f = await mobileFixture(knex);
    await knex('ns_virtual_servers')
      .where({ name: 'acme' })
      .update({ allowed_apps: JSON.stringify([{ name: 'ACME app', publisherKey: trusted.publicJwk }]) });
  });
  afterEach(() => f.close());

  const sfsKey = async () =>
    publicKeyToJwk(await exportPublicKeyRaw((await generateIdentityKeyPair()).publicKey));

  /** A configuration as the app carries it; by default for the SFS the fixture's attestations come from. */
  const config = async (publisher: PublisherKey, sfsUrl = 'wss://id.example.test/sfs/mobile') =>
    signSdkConfig(
      {
        v: 1,
        app: { id: 'com.acme.app', name: 'ACME' },
        sfs: { url: sfsUrl, key: await sfsKey() },
        mc: { url: 'wss://id.example.test/mc/mobile', key: await sfsKey() },
        issuedAt: Math.floor(f.clock.now() / 1000) - 60,
      },
      publisher,
    );

  /** enrol.complete for alice on acme with `sdkConfig` (omitted when undefined). */
  async function complete(sdkConfig: string | undefined) {
    const link = await f.accounts.createEnrolLink({ server: 'acme', userid: 'alice' });
    const data = parseEnrolUri(link.uri);
    const channel = await f.open({ fingerprint: data.fp });
    const phone = await newPhone();
    return {
      data,
      result: channel.request('enrol.complete', {
        token: data.t,
        accountKey: phone.jwk,
        attestation: await f.attestFor(channel, phone, 'enrol'),
        ...(sdkConfig !== undefined ? { sdkConfig } : {}),
      }),
    };
  }

  it('enrols a phone whose configuration an allowed publisher signed, and records the app', async () => {
    const { result } = await complete(await config(trusted));
    const done = await result;
    expect(done.userid).to.equal('alice');
    const event = await knex('ns_audit_events').where({ type: 'account.enrolled' }).first();
    expect(JSON.parse(event.details)).to.deep.include({
      app: 'com.acme.app',
      appPublisher: trusted.fingerprint,
    });
  });

  for (const [name, make] of [
    ['no configuration', async () => undefined],
    ['a configuration of another publisher', async () => config(stranger)],
    [
      'a configuration naming another SFS',
      async () => config(trusted, 'wss://sfs.elsewhere.example/sfs/mobile'),
    ],
    ['a tampered configuration', async () => `${(await config(trusted)).slice(0, -4)}AAAA`],
    ['not a JWS', async () => 'not-a-jws'],
  ] as const) {
    it(`refuses ${name} with app_not_allowed, storing nothing and leaving the token usable`, async () => {
      const sdkConfig = await make();
      const { result } = await complete(sdkConfig);
      const before = await nsState(knex);
      const err = await rejection(result);
      expect(err, String(err)).to.be.instanceOf(MessageError);
      expect((err as MessageError).code).to.equal('app_not_allowed');
      // No account, and the enrol token is still unused: the refusal changed nothing.
      expect(await nsState(knex)).to.deep.equal(before);
      expect(await knex('ns_accounts').select('id')).to.deep.equal([]);
    });
  }

  it('a server without allowed apps enrols any app of its SFS, with or without a configuration', async () => {
    await knex('ns_virtual_servers')
      .where({ name: 'acme' })
      .update({ allowed_apps: JSON.stringify([]) });
    expect((await (await complete(undefined)).result).userid).to.equal('alice');
    expect((await (await complete(await config(stranger))).result).userid).to.equal('alice');
  });
});
