// The SFS signing key on every database: created once, sealed at rest, agreed on by concurrent starts.
import { expect } from 'chai';
import { calculateJwkThumbprint } from 'jose';
import { FixedClock } from '../../../../auth-server/common/clock.js';
import { SecretBoxError } from '../../../../auth-server/common/crypto/secret-box.js';
import { loadOrCreateSfsKey, sfsPublicKeys } from '../../../../auth-server/sfs/keys/signing-key.js';
import { describeEachDatabase } from '../../common/db/databases.js';
import { rejection, resetSfs, secretKey } from '../fixtures.js';

describeEachDatabase('sfs signing key', (db) => {
  const clock = new FixedClock(Date.UTC(2026, 2, 1));
  beforeEach(() => resetSfs(db().knex));

  it('creates an ES256 key once, keyed by its thumbprint, and loads the same key later', async () => {
    const first = await loadOrCreateSfsKey(db().knex, secretKey, clock);
    expect(first.kid).to.equal(await calculateJwkThumbprint(first.publicJwk));
    expect(first.privateKey.algorithm).to.deep.include({ name: 'ECDSA', namedCurve: 'P-256' });
    const again = await loadOrCreateSfsKey(db().knex, secretKey, clock);
    expect(again.kid).to.equal(first.kid);
    expect(await sfsPublicKeys(db().knex, clock)).to.deep.equal([
      { ...first.publicJwk, kid: first.kid, alg: 'ES256', use: 'sig' },
    ]);
  });

  it('stores the private key only sealed', async () => {
    await loadOrCreateSfsKey(db().knex, secretKey, clock);
    const row = await db().knex('sfs_signing_keys').first();
    expect(row.sealed_private_jwk).to.match(/^sb1\./);
    expect(JSON.stringify(row)).not.to.match(/"d"/);
  });

  it('agrees on one key when instances start together', async () => {
    const handles = db().dialect === 'sqlite' ? [db().knex, db().open()] : [db().knex, db().open({ max: 5 })];
    const keys = await Promise.all(
      Array.from({ length: 6 }, (_, i) => loadOrCreateSfsKey(handles[i % 2] ?? db().knex, secretKey, clock)),
    );
    expect(new Set(keys.map((k) => k.kid)).size).to.equal(1);
    expect(await db().knex('sfs_signing_keys').count({ n: '*' }))
      .to.have.nested.property('[0].n')
      .that.satisfies((n: unknown) => Number(n) === 1);
  });

  it('refuses to load under another secret key, or when the sealed value was altered or moved', async () => {
    const key = await loadOrCreateSfsKey(db().knex, secretKey, clock);
    expect(
      await rejection(loadOrCreateSfsKey(db().knex, 'another-secret-key-0123456789', clock)),
    ).to.be.instanceOf(SecretBoxError);
    const row = await db().knex('sfs_signing_keys').first();
    const sealed: string = row.sealed_private_jwk;
    const flipped = `${sealed.slice(0, -3)}${sealed.at(-3) === 'A' ? 'B' : 'A'}${sealed.slice(-2)}`;
    await db().knex('sfs_signing_keys').where({ kid: key.kid }).update({ sealed_private_jwk: flipped });
    expect(await rejection(loadOrCreateSfsKey(db().knex, secretKey, clock))).to.be.instanceOf(SecretBoxError);
    // The original sealed value under another kid: bound to its row, it does not open there.
    await db().knex('sfs_signing_keys').del();
    await db()
      .knex('sfs_signing_keys')
      .insert({ ...row, kid: 'A'.repeat(43), sealed_private_jwk: sealed });
    expect(await rejection(loadOrCreateSfsKey(db().knex, secretKey, clock))).to.be.instanceOf(SecretBoxError);
  });
});
