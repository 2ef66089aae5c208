// Lockout arithmetic of one (app instance, NS server) pair: pure functions over the stored attempt state.
import type { SfsPolicy } from '../servers/model.js';

export interface AttemptState {
  /** Wrong PINs since the last lockout or right PIN. */
  failedAttempts: number;
  /** Lockouts since the last right PIN (the penalty level). */
  lockouts: number;
  /** Epoch ms; no attempt is evaluated before it. */
  lockedUntil: number | null;
  /** Epoch ms of the permanent block. */
  blockedAt: number | null;
}

export const clearState: AttemptState = {
  failedAttempts: 0,
  lockouts: 0,
  lockedUntil: null,
  blockedAt: null,
};

export type Gate = { kind: 'open' } | { kind: 'locked'; retryAfterSeconds: number } | { kind: 'blocked' };

export type FailureOutcome =
  | { kind: 'invalid'; attemptsLeft: number }
  | { kind: 'locked'; retryAfterSeconds: number }
  | { kind: 'blocked' };

/** Whether an attempt may be evaluated now. A lock that has run out opens; the penalty level stays. */
export function gate(state: AttemptState, now: number): Gate {
  if (state.blockedAt !== null) return { kind: 'blocked' };
  if (state.lockedUntil !== null && state.lockedUntil > now)
    return { kind: 'locked', retryAfterSeconds: Math.ceil((state.lockedUntil - now) / 1000) };
  return { kind: 'open' };
}

/** Length of the n-th lockout (1-based): lockoutSeconds, doubling each time, capped at maxLockoutSeconds. */
export function lockoutSeconds(policy: SfsPolicy, n: number): number {
  const doubled = policy.lockoutSeconds * 2 ** Math.min(Math.max(n - 1, 0), 30);
  return Math.min(doubled, policy.maxLockoutSeconds);
}

/** The state after one more wrong PIN, and what to tell the app. */
export function registerFailure(
  state: AttemptState,
  policy: SfsPolicy,
  now: number,
): { state: AttemptState; outcome: FailureOutcome } {
  const failedAttempts = state.failedAttempts + 1;
  if (failedAttempts < policy.maxAttempts) {
    return {
      state: { ...state, failedAttempts },
      outcome: { kind: 'invalid', attemptsLeft: policy.maxAttempts - failedAttempts },
    };
  }
  const lockouts = state.lockouts + 1;
  if (policy.blockAfterLockouts > 0 && lockouts >= policy.blockAfterLockouts) {
    return {
      state: { failedAttempts: 0, lockouts, lockedUntil: null, blockedAt: now },
      outcome: { kind: 'blocked' },
    };
  }
  const seconds = lockoutSeconds(policy, lockouts);
  return {
    state: { failedAttempts: 0, lockouts, lockedUntil: now + seconds * 1000, blockedAt: null },
    outcome: { kind: 'locked', retryAfterSeconds: seconds },
  };
}
