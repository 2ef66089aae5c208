// PIN → attestation on every database, checked by the NS verifier; refusals sign nothing and count as PIN checks.
import { expect } from 'chai';
import { decodeProtectedHeader } from 'jose';
import { verifyAttestation } from '../../../../auth-server/common/attestation/verify.js';
import { FixedClock } from '../../../../auth-server/common/clock.js';
import type { SfsApi } from '../../../../auth-server/sfs/service.js';
import { attestationChallenge } from '../../../../protocol/attestation-binding.js';
import { describeEachDatabase } from '../../common/db/databases.js';
import { enrolled, publicUrl, resetSfs, sfsApi, sfsRejection, snapshot } from '../fixtures.js';

const thumbprint = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';

describeEachDatabase('sfs attestations', (db) => {
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

  it('issues a 60 s ES256 attestation for the right PIN that NS verifies once', async () => {
    const { instance, right } = await enrolled(api);
    const issued = await api.attestWithPin({
      instanceId: instance.id,
      serverId: 'ns-acme',
      challenge,
      pinProof: right,
    });
    const header = decodeProtectedHeader(issued.attestation);
    const keys = await api.publicKeys();
    expect(header).to.deep.equal({ alg: 'ES256', typ: 'nextauth-attestation+jwt', kid: keys[0]?.kid });
    expect(issued.claims).to.deep.include({
      iss: `${publicUrl}/sfs`,
      sub: instance.id,
      aud: 'ns-acme',
      challenge,
      method: 'pin',
      iat: clock.now() / 1000,
      exp: clock.now() / 1000 + 60,
    });
    expect(issued.expiresAt.getTime()).to.equal(clock.now() + 60_000);
    const used = new Set<string>();
    const options = {
      sfsPublicKeys: keys,
      expectedAudience: 'ns-acme',
      expectedChallenge: challenge,
      expectedIssuer: api.issuer,
      expectedSubject: instance.id,
      clock,
      consume: async (jti: string) => !used.has(jti) && Boolean(used.add(jti)),
    };
    expect(await verifyAttestation(issued.attestation, options)).to.deep.equal(issued.claims);
    expect(
      await verifyAttestation(issued.attestation, options).catch((e: { code: string }) => e.code),
    ).to.equal('attestation_replayed');
  });

  it('issues a distinct jti each time', async () => {
    const { instance, right } = await enrolled(api);
    const input = { instanceId: instance.id, serverId: 'ns-acme', challenge, pinProof: right };
    const a = await api.attestWithPin(input);
    const b = await api.attestWithPin(input);
    expect(a.claims.jti).not.to.equal(b.claims.jti);
  });

  it('signs nothing for a wrong PIN, and counts it', async () => {
    const { instance, wrong } = await enrolled(api);
    await sfsRejection(
      api.attestWithPin({ instanceId: instance.id, serverId: 'ns-acme', challenge, pinProof: wrong }),
      'pin_invalid',
      { attemptsLeft: 4 },
    );
  });

  it('refuses a malformed challenge or an unknown server before the PIN check, changing nothing', async () => {
    const { instance, wrong } = await enrolled(api);
    const before = await snapshot(db().knex);
    for (const bad of ['', 'abc', `${challenge}A`, challenge.replace(/^./, '+')]) {
      await sfsRejection(
        api.attestWithPin({ instanceId: instance.id, serverId: 'ns-acme', challenge: bad, pinProof: wrong }),
        'invalid_request',
      );
    }
    await sfsRejection(
      api.attestWithPin({ instanceId: instance.id, serverId: 'ns-other', challenge, pinProof: wrong }),
      'unknown_server',
    );
    expect(await snapshot(db().knex)).to.deep.equal(before);
  });
});
