// NS's view of SFS attestations: trusted keys and issuer from the SFS peer, one-time use across instances.

import { type AttestationClaims, AttestationError } from '../../common/attestation/format.js';
import { kvJtiConsumer, verifyAttestation } from '../../common/attestation/verify.js';
import type { Clock } from '../../common/clock.js';
import type { Kv } from '../../common/kv/kv.js';
import type { SfsPeer } from '../../common/peers.js';

export interface AttestationExpectation {
  /** Global server id (`{NS URL}/ns/{name}`). */
  audience: string;
  /** attestationChallenge(...) computed from NS's own view of the channel. */
  challenge: string;
  /** App instance the account was enrolled with; absent at enrolment (the account does not exist yet). */
  subject?: string;
}

export type AttestationChecker = (jws: string, expect: AttestationExpectation) => Promise<AttestationClaims>;

export function createAttestationChecker(deps: {
  sfs: SfsPeer | undefined;
  kv: Kv;
  clock: Clock;
}): AttestationChecker {
  const consume = kvJtiConsumer(deps.kv, deps.clock);
  return async (jws, expect) => {
    const sfs = deps.sfs;
    // Without an SFS this NS trusts nothing: every attestation is refused, never waved through.
    if (!sfs) throw new AttestationError('attestation_invalid', 'no trusted SFS is configured');
    return verifyAttestation(jws, {
      sfsPublicKeys: await sfs.publicKeys(),
      expectedIssuer: sfs.issuer,
      expectedAudience: expect.audience,
      expectedChallenge: expect.challenge,
      ...(expect.subject !== undefined ? { expectedSubject: expect.subject } : {}),
      clock: deps.clock,
      consume,
    });
  };
}
