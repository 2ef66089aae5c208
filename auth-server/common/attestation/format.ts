// The SFS attestation as a JWS (DESIGN.md §4): header, claims and errors shared by SFS (issuer) and NS (verifier).
import { z } from 'zod';

/** JWS `typ` (RFC 7515 §4.1.9; explicit typing per RFC 8725 §3.11): no other JWT is mistaken for one. */
export const attestationType = 'nextauth-attestation+jwt';
export const attestationAlgorithm = 'ES256';
/** Upper bound of exp - iat: the phone forwards the attestation to NS at once. */
export const maxAttestationLifetimeSeconds = 60;
/** Compact JWS larger than this is refused before any parsing. */
export const maxAttestationBytes = 4096;

export const attestationMethods = ['pin', 'bio'] as const;
export type AttestationMethod = (typeof attestationMethods)[number];

const b64u32 = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'expected base64url of 32 bytes');

export const attestationClaimsSchema = z.object({
  /** The SFS (its public URL + `/sfs`). */
  iss: z.string().min(1).max(300),
  /** The app instance id. */
  sub: z.string().min(1).max(64),
  /** The NS virtual server id the attestation is for; one audience only. */
  aud: z.string().min(1).max(200),
  /** attestationChallenge(...) of protocol/attestation-binding.ts. */
  challenge: b64u32,
  method: z.enum(attestationMethods),
  iat: z.number().int().nonnegative(),
  exp: z.number().int().positive(),
  jti: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/),
});

export type AttestationClaims = z.output<typeof attestationClaimsSchema>;

export type AttestationErrorCode =
  /** Malformed, wrong typ/alg, unknown key, bad signature, bad claims or not yet valid. */
  | 'attestation_invalid'
  | 'attestation_expired'
  /** Its jti was already consumed: a replay, or the losing side of a concurrent double approval. */
  | 'attestation_replayed'
  | 'attestation_wrong_challenge'
  | 'attestation_wrong_audience'
  /** Issued to another app instance than the one the account belongs to. */
  | 'attestation_wrong_subject';

const messages: Record<AttestationErrorCode, string> = {
  attestation_invalid: 'The attestation is not valid',
  attestation_expired: 'The attestation has expired',
  attestation_replayed: 'The attestation was already used',
  attestation_wrong_challenge: 'The attestation was issued for another challenge',
  attestation_wrong_audience: 'The attestation was issued for another server',
  attestation_wrong_subject: 'The attestation was issued for another app instance',
};

export class AttestationError extends Error {
  override name = 'AttestationError';
  constructor(
    readonly code: AttestationErrorCode,
    detail?: string,
  ) {
    super(detail ?? messages[code]);
  }
}
