// Biometric keys at the SFS on every database: registration behind the PIN, bio attestations NS verifies,
// and every refusal (unknown key, bad signature, replayed or expired nonce, policy) changing nothing.
import { webcrypto } from 'node:crypto';
import { expect } from 'chai';
import { exportJWK, generateKeyPair } from 'jose';
import { verifyAttestation } from '../../../../auth-server/common/attestation/verify.js';
import { FixedClock } from '../../../../auth-server/common/clock.js';
import { bioNonceSeconds } from '../../../../auth-server/sfs/bio/service.js';
import type { SfsApi } from '../../../../auth-server/sfs/service.js';
import { attestationChallenge } from '../../../../protocol/attestation-binding.js';
import { bioSignedData } from '../../../../protocol/mobile/sfs.js';
import { describeEachDatabase } from '../../common/db/databases.js';
import { enrolled, resetSfs, sfsApi, sfsRejection, snapshot } from '../fixtures.js';

const thumbprint = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';

/** A device's biometric key pair: the private half signs, the public JWK is registered. */
async function bioKey() {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const sign = async (data: Uint8Array) =>
    Buffer.from(
      await webcrypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, privateKey as CryptoKey, data),
    ).toString('base64url');
  return { publicJwk: await exportJWK(publicKey), sign };
}

describeEachDatabase('sfs biometric keys', (db) => {
  let clock: FixedClock;
  let api: SfsApi;
  let challenge: string;

  beforeEach(async () => {
    await resetSfs(db().knex);
    clock = new FixedClock(Date.UTC(2026, 2, 1, 12));
    api = sfsApi(db().knex, clock);
    challenge = await attestationChallenge({
      serverId: 'ns-acme',
      accountKeyThumbprint: thumbprint,
      transcriptHash: new Uint8Array(32).fill(1),
      purpose: 'login',
    });
  });

  /** An instance with PIN and server, a registered biometric key, and a fresh nonce signed for `challenge`. */
  async function withBio(policy: Record<string, number | boolean> = {}) {
    const e = await enrolled(api, policy as Record<string, number>);
    const key = await bioKey();
    await api.bio.register({
      instanceId: e.instance.id,
      serverId: 'ns-acme',
      pinProof: e.right,
      publicJwk: key.publicJwk,
    });
    const signed = async (serverId = 'ns-acme', forChallenge = challenge) => {
      const { nonce } = await api.bio.challenge(e.instance.id);
      const signature = await key.sign(bioSignedData({ nonce, serverId, challenge: forChallenge }));
      return { instanceId: e.instance.id, serverId, challenge: forChallenge, nonce, signature };
    };
    return { ...e, key, signed };
  }

  it('issues a bio attestation (method bio) that NS verifies', async () => {
    const { instance, signed } = await withBio();
    const issued = await api.attestWithBio(await signed());
    expect(issued.claims).to.deep.include({ sub: instance.id, aud: 'ns-acme', challenge, method: 'bio' });
    const claims = await verifyAttestation(issued.attestation, {
      sfsPublicKeys: await api.publicKeys(),
      expectedAudience: 'ns-acme',
      expectedChallenge: challenge,
      expectedIssuer: api.issuer,
      expectedSubject: instance.id,
      clock,
      consume: async () => true,
    });
    expect(claims.method).to.equal('bio');
  });

  it('registration checks the PIN and counts a wrong one; no key is stored then', async () => {
    const { instance, wrong } = await enrolled(api);
    const key = await bioKey();
    await sfsRejection(
      api.bio.register({
        instanceId: instance.id,
        serverId: 'ns-acme',
        pinProof: wrong,
        publicJwk: key.publicJwk,
      }),
      'pin_invalid',
      { attemptsLeft: 4 },
    );
    expect(await db().knex('sfs_bio_keys').select('*')).to.deep.equal([]);
  });

  it('refuses a malformed or private key before the PIN check, counting nothing', async () => {
    const { instance, wrong } = await enrolled(api);
    const before = await snapshot(db().knex);
    const key = await bioKey();
    for (const publicJwk of [
      {},
      { ...key.publicJwk, d: key.publicJwk.x },
      { ...key.publicJwk, x: 'A'.repeat(43) },
    ])
      await sfsRejection(
        api.bio.register({ instanceId: instance.id, serverId: 'ns-acme', pinProof: wrong, publicJwk }),
        'invalid_request',
      );
    expect(await snapshot(db().knex)).to.deep.equal(before);
  });

  it('a replayed nonce is bio_challenge_invalid and changes nothing', async () => {
    const { signed } = await withBio();
    const request = await signed();
    await api.attestWithBio(request);
    const before = await snapshot(db().knex);
    await sfsRejection(api.attestWithBio(request), 'bio_challenge_invalid');
    expect(await snapshot(db().knex)).to.deep.equal(before);
  });

  it('of concurrent redemptions of one nonce exactly one is signed', async () => {
    const { signed } = await withBio();
    const request = await signed();
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => api.attestWithBio(request)));
    expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
    for (const r of results.filter((x) => x.status === 'rejected'))
      expect((r as PromiseRejectedResult).reason).to.include({ code: 'bio_challenge_invalid' });
  });

  it('an expired nonce is refused; a signature by another key is bio_signature_invalid and keeps the nonce', async () => {
    const { instance, signed } = await withBio();
    const stale = await signed();
    clock.advance(bioNonceSeconds * 1000);
    await sfsRejection(api.attestWithBio(stale), 'bio_challenge_invalid');

    const request = await signed();
    const stranger = await bioKey();
    const forged = {
      ...request,
      signature: await stranger.sign(bioSignedData({ nonce: request.nonce, serverId: 'ns-acme', challenge })),
    };
    const before = await snapshot(db().knex);
    await sfsRejection(api.attestWithBio(forged), 'bio_signature_invalid');
    // A signature for another challenge or server than the one asked is just as wrong.
    await sfsRejection(api.attestWithBio({ ...request, challenge: thumbprint }), 'bio_signature_invalid');
    expect(await snapshot(db().knex)).to.deep.equal(before);
    // The real device's nonce survived the forgery.
    expect((await api.attestWithBio(request)).claims.sub).to.equal(instance.id);
  });

  it('without a registered key: bio_not_registered for the nonce and the attestation', async () => {
    const { instance } = await enrolled(api);
    const before = await snapshot(db().knex);
    await sfsRejection(api.bio.challenge(instance.id), 'bio_not_registered');
    await sfsRejection(
      api.attestWithBio({
        instanceId: instance.id,
        serverId: 'ns-acme',
        challenge,
        nonce: thumbprint,
        signature: 'A'.repeat(86),
      }),
      'bio_not_registered',
    );
    await sfsRejection(api.bio.challenge('no-such-instance'), 'unknown_instance');
    expect(await snapshot(db().knex)).to.deep.equal(before);
  });

  it('after REMOVE the old key and its outstanding nonce are refused', async () => {
    const { instance, signed } = await withBio();
    const request = await signed();
    expect(await api.bio.remove(instance.id)).to.equal(true);
    expect(await api.bio.remove(instance.id)).to.equal(false);
    const before = await snapshot(db().knex);
    await sfsRejection(api.attestWithBio(request), 'bio_not_registered');
    expect(await snapshot(db().knex)).to.deep.equal(before);
  });

  it('a server whose policy says bioAllowed: false gets bio_not_allowed; the nonce stays', async () => {
    const { signed } = await withBio();
    await api.servers.create({ id: 'ns-strict', policy: { bioAllowed: false } });
    const request = await signed('ns-strict');
    const before = await snapshot(db().knex);
    await sfsRejection(api.attestWithBio(request), 'bio_not_allowed');
    await sfsRejection(api.attestWithBio({ ...request, serverId: 'ns-unknown' }), 'unknown_server');
    expect(await snapshot(db().knex)).to.deep.equal(before);
  });

  it('a blocked instance gets no bio attestation either', async () => {
    const { instance, signed } = await withBio();
    const request = await signed();
    await db().knex('sfs_app_instances').where({ id: instance.id }).update({ blocked_at: clock.now() });
    await sfsRejection(api.attestWithBio(request), 'pin_blocked');
  });

  it('a new registration replaces the key: the old one no longer verifies', async () => {
    const { instance, right, signed } = await withBio();
    const newKey = await bioKey();
    await api.bio.register({
      instanceId: instance.id,
      serverId: 'ns-acme',
      pinProof: right,
      publicJwk: newKey.publicJwk,
    });
    // `signed` still signs with the old key.
    const request = await signed();
    await sfsRejection(api.attestWithBio(request), 'bio_signature_invalid');
    const { nonce } = await api.bio.challenge(instance.id);
    const signature = await newKey.sign(bioSignedData({ nonce, serverId: 'ns-acme', challenge }));
    expect((await api.attestWithBio({ ...request, nonce, signature })).claims.method).to.equal('bio');
    expect(await db().knex('sfs_bio_keys').select('instance_id')).to.have.length(1);
  });
});
