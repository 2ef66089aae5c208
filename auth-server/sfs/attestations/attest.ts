// The SFS attestation flow: check the PIN for the asking NS server, then sign the challenge the app brought.
import { z } from 'zod';
import type { AttestationClaims } from '../../common/attestation/format.js';
import type { Clock, Random } from '../../common/clock.js';
import type { BioService } from '../bio/service.js';
import { parseInput } from '../errors.js';
import type { SfsSigningKey } from '../keys/signing-key.js';
import type { PinService } from '../pin/service.js';
import { sfsServerIdSchema } from '../servers/model.js';
import { signAttestation } from './issue.js';

const attestWithPinSchema = z.strictObject({
  instanceId: z.string().min(1).max(64),
  /** The NS server the attestation is for: its policy counts the attempt, it becomes `aud`. */
  serverId: sfsServerIdSchema,
  /** attestationChallenge(...) computed by the app; SFS never learns what it stands for. */
  challenge: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'expected base64url of a SHA-256 digest'),
  pinProof: z.string(),
});

export type AttestWithPinInput = z.input<typeof attestWithPinSchema>;

export interface AttestWithBioInput {
  instanceId: string;
  serverId: string;
  challenge: string;
  /** From `bio.challenge`; consumed by this attestation. */
  nonce: string;
  /** The biometric key's ECDSA signature (r ‖ s, base64url) over bioSignedData(nonce, serverId, challenge). */
  signature: string;
}

export interface IssuedAttestation {
  /** Compact JWS, `typ: nextauth-attestation+jwt`. */
  attestation: string;
  claims: AttestationClaims;
  expiresAt: Date;
}

export interface AttestationService {
  /** Throws every error of PinService.verify; nothing is signed unless the PIN was right. */
  attestWithPin(input: AttestWithPinInput): Promise<IssuedAttestation>;
  /** Throws every error of BioService.verify; nothing is signed unless the biometric signature verified. */
  attestWithBio(input: AttestWithBioInput): Promise<IssuedAttestation>;
}

export interface AttestationServiceOptions {
  pin: PinService;
  bio: BioService;
  signingKey: () => Promise<SfsSigningKey>;
  issuer: string;
  clock: Clock;
  random: Random;
  lifetimeSeconds?: number;
}

export function createAttestationService(options: AttestationServiceOptions): AttestationService {
  const issue = async (
    method: 'pin' | 'bio',
    input: { instanceId: string; serverId: string; challenge: string },
  ): Promise<IssuedAttestation> => {
    const key = await options.signingKey();
    const { jws, claims } = await signAttestation(key, options.random, {
      issuer: options.issuer,
      ...input,
      method,
      now: options.clock.now(),
      ...(options.lifetimeSeconds !== undefined ? { lifetimeSeconds: options.lifetimeSeconds } : {}),
    });
    return { attestation: jws, claims, expiresAt: new Date(claims.exp * 1000) };
  };
  return {
    async attestWithPin(input) {
      // The whole request is validated before the PIN check, so a malformed challenge costs no attempt.
      const { instanceId, serverId, challenge, pinProof } = parseInput(attestWithPinSchema, input);
      await options.pin.verify({ instanceId, serverId, pinProof });
      return issue('pin', { instanceId, serverId, challenge });
    },
    async attestWithBio(input) {
      return issue('bio', await options.bio.verify(input));
    },
  };
}
