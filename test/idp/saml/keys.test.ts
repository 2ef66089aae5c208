// SAML key rotation on every database: a `current` and a published `next` key per use from the first use (also
// when instances race), rotation promoting `next` (per use or both), retired keys published for the overlap
// and gone after it, another instance's cache catching up, an audit failure rolling the rotation back, and the
// one key per use of migration 0003 moved over as `current` with its old sealing.
import { createPublicKey, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { expect } from 'chai';
import { FixedClock, systemRandom } from '../../../auth-server/common/clock.js';
import { seal } from '../../../auth-server/common/crypto/secret-box.js';
import { migrateLatest } from '../../../auth-server/common/db/migrate.js';
import {
  createSamlKeyStore,
  defaultRecheckMs,
  defaultRetiredKeepMs,
  type SamlKeyStore,
} from '../../../idp/saml/keys.js';
import { certificateBody, certificateFingerprint, selfSignedCertificate } from '../../../idp/saml/x509.js';
import * as keyRotation from '../../../migrations/idp/0006_saml_key_rotation.js';
import { describeEachDatabase } from '../../auth-server/common/db/databases.js';

const secretKey = 'saml-keys-test-secret-key-0123456789abc';
const table = 'idp_saml_key_ring';

describeEachDatabase('idp/saml key ring and rotation', (db) => {
  let clock: FixedClock;
  const store = (knex = db().knex): SamlKeyStore =>
    createSamlKeyStore({ knex, secretKey, clock, random: systemRandom });
  const states = async (s: SamlKeyStore, server = 'default') =>
    (await s.list(server)).map((k) => `${k.use}:${k.state}:${k.kid}`);

  before(async () => {
    await migrateLatest(db().knex, 'idp');
  });
  beforeEach(async () => {
    clock = new FixedClock(Date.now());
    await db().knex(table).delete();
  });

  it('first use: a current and a next key per use, one set also when instances race; private keys sealed', async () => {
    const stores = [db().knex, db().open(), db().knex].map((knex) => store(knex));
    const rings = await Promise.all(stores.map((s) => s.get('default')));
    expect(new Set(rings.map((r) => r.signing.kid)).size).to.equal(1);
    expect(new Set(rings.map((r) => r.version)).size).to.equal(1);
    const [ring] = rings;
    if (!ring) throw new Error('no ring');
    expect(ring.signing.kid).to.not.equal(ring.encryption.kid);
    expect(ring.signing.kid).to.equal(certificateFingerprint(ring.signing.certificate));
    // Published: current first, then next.
    expect(ring.published.signing).to.have.length(2);
    expect(ring.published.signing[0]).to.equal(ring.signing.certificateBody);
    expect(ring.published.encryption[0]).to.equal(ring.encryption.certificateBody);
    expect(ring.decryption).to.have.length(2);
    const rows = await db().knex(table);
    expect(rows).to.have.length(4);
    for (const row of rows) expect(String(row.sealed_private_key)).to.not.contain('PRIVATE KEY');
    expect((await stores[0]?.list('default'))?.map((k) => `${k.use}:${k.state}`)).to.deep.equal([
      'signing:current',
      'encryption:current',
      'signing:next',
      'encryption:next',
    ]);
  });

  it('rotation: next signs, current is retired but published, a new next appears; per use or both', async () => {
    const s = store();
    const before = await s.get('default');
    const nextSigning = (await s.list('default')).find((k) => k.use === 'signing' && k.state === 'next');
    clock.advance(60_000);
    const after = await s.rotate('default', ['signing']);
    const ring = await s.get('default');
    expect(ring.signing.kid).to.equal(nextSigning?.kid);
    // The encryption pair was not asked for.
    expect(ring.encryption.kid).to.equal(before.encryption.kid);
    expect(after.filter((k) => k.use === 'signing').map((k) => k.state)).to.deep.equal([
      'current',
      'next',
      'retired',
    ]);
    const retired = after.find((k) => k.state === 'retired');
    expect(retired?.kid).to.equal(before.signing.kid);
    expect(retired?.retiredAt?.getTime()).to.equal(clock.now());
    // What the metadata lists: the new current, the new next, the retired one (SPs holding it still verify).
    expect(ring.published.signing).to.have.length(3);
    expect(ring.published.signing[0]).to.equal(ring.signing.certificateBody);
    expect(ring.published.signing).to.include(before.signing.certificateBody);
    // A signature by the promoted key verifies with the certificate that was `next` before.
    const data = Buffer.from('a Response');
    const signature = sign('sha256', data, ring.signing.privateKey);
    const cert = `-----BEGIN CERTIFICATE-----\n${before.published.signing[1]}\n-----END CERTIFICATE-----`;
    expect(verify('sha256', data, createPublicKey(cert), signature)).to.equal(true);

    const both = await s.rotate('default', ['signing', 'encryption']);
    expect(both.filter((k) => k.state === 'current')).to.have.length(2);
    expect(both.filter((k) => k.state === 'retired')).to.have.length(3);
    expect((await s.get('default')).decryption).to.have.length(3);
  });

  it('retired keys leave the metadata after the overlap and are deleted at the next rotation', async () => {
    const s = store();
    const first = await s.get('default');
    await s.rotate('default', ['signing', 'encryption']);
    clock.advance(defaultRetiredKeepMs - 1000);
    expect((await s.list('default')).map((k) => k.kid)).to.include(first.signing.kid);
    clock.advance(2000);
    expect((await s.list('default')).map((k) => k.kid)).to.not.include(first.signing.kid);
    const ring = await s.get('default');
    expect(ring.published.signing).to.not.include(first.signing.certificateBody);
    expect(ring.published.encryption).to.not.include(first.encryption.certificateBody);
    expect(await db().knex(table).where({ kid: first.signing.kid })).to.have.length(1);
    await s.rotate('default', ['signing']);
    expect(await db().knex(table).where({ kid: first.signing.kid })).to.have.length(0);
  });

  it('another instance signs with the new key once its cache is re-checked; other servers are apart', async () => {
    const a = store();
    const b = store(db().open());
    const old = await b.get('default');
    const acme = await b.get('acme');
    await a.rotate('default', ['signing']);
    expect((await b.get('default')).signing.kid, 'cached').to.equal(old.signing.kid);
    clock.advance(defaultRecheckMs);
    const fresh = await b.get('default');
    expect(fresh.signing.kid).to.equal((await a.get('default')).signing.kid);
    expect(fresh.signing.kid).to.not.equal(old.signing.kid);
    // Unchanged keys are not opened again: the same ring object.
    expect(await b.get('acme')).to.equal(acme);
  });

  it('a rotation whose audit record fails changes nothing; concurrent rotations apply one after the other', async () => {
    const s = store();
    await s.get('default');
    const before = await states(s);
    let error: unknown;
    await s
      .rotate('default', ['signing', 'encryption'], async () => {
        throw new Error('audit down');
      })
      .catch((err: unknown) => {
        error = err;
      });
    expect((error as Error).message).to.equal('audit down');
    expect(await states(s)).to.deep.equal(before);
    expect((await s.get('default')).version).to.equal((await store().get('default')).version);

    if (db().dialect === 'sqlite') return; // overlapping transactions of one process deadlock on SQLite
    const other = store(db().open());
    await Promise.all([s.rotate('default', ['signing']), other.rotate('default', ['signing'])]);
    const after = (await s.list('default')).filter((k) => k.use === 'signing');
    expect(after.map((k) => k.state)).to.deep.equal(['current', 'next', 'retired', 'retired']);
  });

  it('migration 0006 moves the one key per use of 0003 over as current, still opening with its old sealing', async () => {
    const knex = db().knex;
    await keyRotation.down(knex);
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const certificate = selfSignedCertificate({
      publicKey,
      privateKey,
      commonName: 'legacy',
      notBefore: new Date(clock.now() - 60_000),
      notAfter: new Date(clock.now() + 3650 * 864e5),
      serial: randomBytes(8).fill(1, 0, 1),
    });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    for (const use of ['signing', 'encryption'])
      await knex('idp_saml_keys').insert({
        server: 'legacy',
        use,
        certificate,
        sealed_private_key: seal(secretKey, `idp-saml-key:legacy:${use}`, pem),
        created_at: clock.now(),
      });
    // The same certificate twice would collide on kid: the encryption one gets another key.
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const encCert = selfSignedCertificate({
      publicKey: other.publicKey,
      privateKey: other.privateKey,
      commonName: 'legacy enc',
      notBefore: new Date(clock.now() - 60_000),
      notAfter: new Date(clock.now() + 3650 * 864e5),
      serial: randomBytes(8).fill(2, 0, 1),
    });
    await knex('idp_saml_keys')
      .where({ server: 'legacy', use: 'encryption' })
      .update({
        certificate: encCert,
        sealed_private_key: seal(
          secretKey,
          'idp-saml-key:legacy:encryption',
          other.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        ),
      });
    await keyRotation.up(knex);
    const ring = await store().get('legacy');
    expect(ring.signing.certificate).to.equal(certificate);
    expect(ring.signing.kid).to.equal(certificateFingerprint(certificate));
    expect(ring.encryption.certificateBody).to.equal(certificateBody(encCert));
    expect(createPublicKey(ring.signing.privateKey).export({ type: 'spki', format: 'der' })).to.deep.equal(
      publicKey.export({ type: 'spki', format: 'der' }),
    );
    // A next key was added beside it, and a rotation retires the moved key like any other.
    expect(ring.published.signing).to.have.length(2);
    await store().rotate('legacy', ['signing']);
    expect((await store().get('legacy')).published.signing).to.include(certificateBody(certificate));
  });
});
