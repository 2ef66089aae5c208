// The PIN step of enrolment and login: ask, attest at the SFS, retry while the SFS allows more attempts.
import type { PinFailure } from '../../../protocol/mobile/common.js';
import { SdkError } from '../errors.js';
import type { SfsSession } from '../instance/sfs-session.js';
import type { Answer, Interaction, ServerContext } from './types.js';

export interface AttestWithPinInput {
  ask: (
    interaction: Extract<Interaction, { type: 'VERIFY_SECOND_FACTOR' }>,
  ) => Promise<Extract<Answer, { type: 'VERIFY_SECOND_FACTOR' }>>;
  sfs: SfsSession;
  server: ServerContext;
  /** base64url attestation challenge (protocol/attestation-binding.ts). */
  challenge: string;
  /** A PIN the user entered moments ago in this flow (the one just set): used once without asking again. */
  pin?: string;
}

/**
 * Resolves with the attestation JWS. A wrong PIN asks again showing the attempts left; a lockout, a block or
 * a last wrong attempt ends the flow with that code (asking again could only cost the user more).
 */
export async function attestWithPin(input: AttestWithPinInput): Promise<string> {
  let attemptsLeft: number | null = null;
  let pin = input.pin;
  for (;;) {
    pin ??= (await input.ask({ type: 'VERIFY_SECOND_FACTOR', server: input.server, attemptsLeft })).pin;
    const outcome = await input.sfs.attest(input.server.id, input.challenge, pin);
    pin = undefined;
    if (outcome.ok) return outcome.attestation;
    attemptsLeft = attemptsLeftOrThrow(outcome);
  }
}

/**
 * A PIN refusal of the SFS: the attempts left when the user may try again; otherwise (lockout, block, last
 * attempt gone) the SdkError that ends the flow.
 */
export function attemptsLeftOrThrow(failure: PinFailure): number {
  switch (failure.error) {
    case 'pin_invalid':
      if (failure.attemptsLeft <= 0) throw new SdkError('pin_invalid', undefined, { attemptsLeft: 0 });
      return failure.attemptsLeft;
    case 'pin_locked':
      throw new SdkError('pin_locked', undefined, { retryAfterSeconds: failure.retryAfterSeconds });
    case 'pin_blocked':
      throw new SdkError('pin_blocked');
  }
}
