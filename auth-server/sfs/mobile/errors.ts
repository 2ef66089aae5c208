// SfsError → the SFS channel's answers: PIN refusals become `pinFailure` results, the rest `MessageError`s.
import { MessageError } from '../../../protocol/index.js';
import type { PinFailure } from '../../../protocol/mobile/common.js';
import { SfsError } from '../errors.js';

/**
 * The three outcomes the app shows the user (remaining attempts, wait time, blocked) are results, not
 * errors, so the contract types them (protocol/mobile/sfs.ts); anything else is thrown on.
 */
export function asPinFailure(err: unknown): PinFailure {
  if (err instanceof SfsError) {
    switch (err.code) {
      case 'pin_invalid':
        return { ok: false, error: 'pin_invalid', attemptsLeft: err.attemptsLeft ?? 0 };
      case 'pin_locked':
        return { ok: false, error: 'pin_locked', retryAfterSeconds: Math.max(1, err.retryAfterSeconds ?? 1) };
      case 'pin_blocked':
        return { ok: false, error: 'pin_blocked' };
    }
  }
  throw asMessageError(err);
}

/** SfsError codes (`unknown_server`, `pin_not_set`, `pin_already_set`, `invalid_request`, …) keep their name. */
export function asMessageError(err: unknown): unknown {
  return err instanceof SfsError ? new MessageError(err.code, err.message) : err;
}

/** Runs a PIN-checking operation and answers its PIN refusals as results. */
export async function pinChecked<T>(operation: () => Promise<T>): Promise<T | PinFailure> {
  try {
    return await operation();
  } catch (err) {
    return asPinFailure(err);
  }
}

/** Runs an operation whose SfsErrors are all protocol errors. */
export async function sfsCall<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (err) {
    throw asMessageError(err);
  }
}
