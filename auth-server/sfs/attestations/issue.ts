// Signs an attestation (DESIGN.md §4): a short-lived ES256 JWS that an app instance passed a PIN or bio check.
import { SignJWT } from 'jose';
import {
  type AttestationClaims,
  type AttestationMethod,
  attestationAlgorithm,
  attestationType,
  maxAttestationLifetimeSeconds,
} from '../../common/attestation/format.js';
import { type Random, randomToken } from '../../common/clock.js';
import type { SfsSigningKey } from '../keys/signing-key.js';

export interface AttestationInput {
  issuer: string;
  instanceId: string;
  serverId: string;
  challenge: string;
  method: AttestationMethod;
  /** Epoch ms. */
  now: number;
  /** Default and maximum 60. */
  lifetimeSeconds?: number;
}

/** Returns the compact JWS and its claims. Call only after the method's check has passed. */
export async function signAttestation(
  key: SfsSigningKey,
  random: Random,
  input: AttestationInput,
): Promise<{ jws: string; claims: AttestationClaims }> {
  const lifetime = Math.min(
    input.lifetimeSeconds ?? maxAttestationLifetimeSeconds,
    maxAttestationLifetimeSeconds,
  );
  if (!(lifetime >= 1)) throw new RangeError('attestation lifetime must be at least 1 s');
  const iat = Math.floor(input.now / 1000);
  const claims: AttestationClaims = {
    iss: input.issuer,
    sub: input.instanceId,
    aud: input.serverId,
    challenge: input.challenge,
    method: input.method,
    iat,
    exp: iat + Math.floor(lifetime),
    jti: randomToken(random, 16),
  };
  const jws = await new SignJWT({ ...claims })
    .setProtectedHeader({ alg: attestationAlgorithm, typ: attestationType, kid: key.kid })
    .sign(key.privateKey);
  return { jws, claims };
}
