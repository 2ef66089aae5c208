// Injected time for the SDK core (CONVENTIONS.md 7): expiry checks read this, so tests move time instead of sleeping.

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
