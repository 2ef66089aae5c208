// The PIN step of enrolment and login: ask, attest at the SFS, retry while the SFS allows more attempts.
import { MessageError } from '../../../protocol/index.js';
import type { PinFailure } from '../../../protocol/mobile/common.js';
import { bioSignedData } from '../../../protocol/mobile/sfs.js';
import { type BioDeps, type BioRecord, bioKeyState, forgetBioKey } from '../biometrics/bio-key.js';
import { SdkError } from '../errors.js';
import type { SfsSession } from '../instance/sfs-session.js';
import type { Answer, BiometricFallback, Interaction, ServerContext } from './types.js';

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
  /** Why the PIN is asked although biometrics were meant to be used (shown with the first ask). */
  fallback?: BiometricFallback;
}

/**
 * Resolves with the attestation JWS. A wrong PIN asks again showing the attempts left; a lockout, a block or
 * a last wrong attempt ends the flow with that code (asking again could only cost the user more).
 */
export async function attestWithPin(input: AttestWithPinInput): Promise<string> {
  let attemptsLeft: number | null = null;
  let pin = input.pin;
  for (;;) {
    pin ??= (
      await input.ask({
        type: 'VERIFY_SECOND_FACTOR',
        server: input.server,
        attemptsLeft,
        ...(input.fallback !== undefined ? { fallback: input.fallback } : {}),
      })
    ).pin;
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

/** `auto`: biometrics when the device has a valid biometric key, else the PIN; `bio`: a key is required. */
export type SecondFactorMode = 'auto' | 'pin' | 'bio';

export interface AttestSecondFactorInput extends AttestWithPinInput {
  mode: SecondFactorMode;
  bio: BioDeps;
  /** What the biometric prompt says (e.g. "Log in to Acme"). */
  reason: string;
  /** Throws once the flow was cancelled (called before each step with side effects). */
  ensureActive: () => void;
}

export interface SecondFactorResult {
  attestation: string;
  method: 'pin' | 'bio';
  /** Set when biometrics were meant to be used and the PIN confirmed instead. */
  fallback?: BiometricFallback;
}

/**
 * Biometrics first where the device has a valid key, the PIN otherwise or after any biometric miss. A key
 * whose enrolled set changed (or that the SFS no longer accepts) is deleted here and the PIN is asked with
 * `fallback: 'bio_invalidated'`. One biometric prompt per attestation: failed matches cost no PIN attempt,
 * and the platform's own limit stops a stranger's finger.
 */
export async function attestSecondFactor(input: AttestSecondFactorInput): Promise<SecondFactorResult> {
  let fallback: BiometricFallback | undefined;
  if (input.mode !== 'pin') {
    const state = await bioKeyState(input.bio);
    if (state.state === 'none') {
      if (input.mode === 'bio')
        throw new SdkError('bio_not_enrolled', 'this device has no biometric key (add biometrics first)');
    } else if (state.state === 'invalidated') {
      await invalidate(input, state.record);
      fallback = 'bio_invalidated';
    } else {
      const bio = await attestWithBio(input, state.record);
      if (bio.ok) return { attestation: bio.attestation, method: 'bio' };
      fallback = bio.fallback;
    }
  }
  input.ensureActive();
  const attestation = await attestWithPin({ ...input, ...(fallback !== undefined ? { fallback } : {}) });
  return { attestation, method: 'pin', ...(fallback !== undefined ? { fallback } : {}) };
}

/** Forgets the key on the device and (best effort) at the SFS, which then refuses it for good. */
async function invalidate(input: AttestSecondFactorInput, record: BioRecord): Promise<void> {
  await forgetBioKey(input.bio, record);
  await input.sfs.removeBioKey().catch(() => false);
}

async function attestWithBio(
  input: AttestSecondFactorInput,
  record: BioRecord,
): Promise<{ ok: true; attestation: string } | { ok: false; fallback: BiometricFallback }> {
  const refused = async (err: unknown): Promise<{ ok: false; fallback: BiometricFallback }> => {
    if (!(err instanceof MessageError)) throw err;
    switch (err.code) {
      case 'bio_not_allowed':
        return { ok: false, fallback: 'bio_not_allowed' };
      case 'bio_challenge_invalid':
        return { ok: false, fallback: 'bio_failed' };
      case 'bio_not_registered':
      case 'bio_signature_invalid':
        // The SFS does not know this key (removed elsewhere, or replaced): it can never work again.
        await invalidate(input, record);
        return { ok: false, fallback: 'bio_invalidated' };
      default:
        throw err;
    }
  };
  let nonce: string;
  try {
    input.ensureActive();
    nonce = await input.sfs.bioChallenge();
  } catch (err) {
    return refused(err);
  }
  if ((await input.bio.biometrics.authenticate(input.reason)) !== 'success')
    return { ok: false, fallback: 'bio_failed' };
  input.ensureActive();
  const data = bioSignedData({ nonce, serverId: input.server.id, challenge: input.challenge });
  const signature = await input.bio.keyStore.sign(record.alias, data);
  let outcome: Awaited<ReturnType<SfsSession['attestBio']>>;
  try {
    outcome = await input.sfs.attestBio(input.server.id, input.challenge, nonce, signature);
  } catch (err) {
    return refused(err);
  }
  if (outcome.ok) return outcome;
  // Only a block reaches a bio attestation as a PIN outcome: it ends the flow.
  attemptsLeftOrThrow(outcome);
  return { ok: false, fallback: 'bio_failed' };
}
