// Typed failures of SFS operations with a stable code each; the channel endpoint maps them to its errors.
import type { z } from 'zod';

export type SfsErrorCode =
  /** Input failed validation (malformed key, proof, challenge, id). */
  | 'invalid_request'
  | 'unknown_instance'
  | 'unknown_server'
  /** The proof does not match; `attemptsLeft` says how many remain before a lockout. */
  | 'pin_invalid'
  /** Too many wrong PINs: no attempt is evaluated before `retryAfterSeconds`. */
  | 'pin_locked'
  /** Permanently blocked after repeated lockouts: only a new PIN after re-enrolment helps. */
  | 'pin_blocked'
  | 'pin_not_set'
  /** setPin on an instance that already has one: a change must prove the old PIN. */
  | 'pin_already_set'
  /** A registration under an id or key that is already taken. */
  | 'conflict'
  /** A bio attestation from an instance without a registered biometric key (never added, or removed). */
  | 'bio_not_registered'
  /** The NS server's policy refuses biometric attestations: the app asks for the PIN. */
  | 'bio_not_allowed'
  /** The nonce is not the instance's current one (unknown, expired, or already used). */
  | 'bio_challenge_invalid'
  /** The signature does not verify with the registered biometric key. */
  | 'bio_signature_invalid';

const messages: Record<SfsErrorCode, string> = {
  invalid_request: 'The request is malformed',
  unknown_instance: 'Unknown app instance',
  unknown_server: 'Unknown NS server',
  pin_invalid: 'Wrong PIN',
  pin_locked: 'Too many wrong PINs; try again later',
  pin_blocked: 'PIN blocked after too many wrong attempts',
  pin_not_set: 'No PIN is set for this app instance',
  pin_already_set: 'A PIN is already set for this app instance',
  conflict: 'Already registered',
  bio_not_registered: 'No biometric key is registered for this app instance',
  bio_not_allowed: 'This server does not accept biometrics; use the PIN',
  bio_challenge_invalid: 'Unknown, expired or used biometric challenge',
  bio_signature_invalid: 'The biometric signature does not verify',
};

export interface SfsErrorDetails {
  attemptsLeft?: number;
  retryAfterSeconds?: number;
  issues?: { path: string; message: string }[];
}

export class SfsError extends Error {
  override name = 'SfsError';
  readonly attemptsLeft?: number;
  readonly retryAfterSeconds?: number;
  readonly issues?: { path: string; message: string }[];
  constructor(
    readonly code: SfsErrorCode,
    details: SfsErrorDetails = {},
    detail?: string,
  ) {
    super(detail ?? messages[code]);
    if (details.attemptsLeft !== undefined) this.attemptsLeft = details.attemptsLeft;
    if (details.retryAfterSeconds !== undefined) this.retryAfterSeconds = details.retryAfterSeconds;
    if (details.issues !== undefined) this.issues = details.issues;
  }
}

/** Parses input at the service boundary; a failure becomes `invalid_request` listing the fields (no values). */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new SfsError('invalid_request', {
    issues: result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
  });
}
