// Time and randomness are injected wherever windows, tokens or expiries are checked, so tests move time
// instead of sleeping.
import { randomBytes } from 'node:crypto';

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that only moves when told: for tests. */
export class FixedClock implements Clock {
  constructor(private ms = Date.UTC(2026, 0, 1)) {}
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
  set(ms: number): void {
    this.ms = ms;
  }
}

export interface Random {
  bytes(n: number): Uint8Array;
}

export const systemRandom: Random = { bytes: (n) => new Uint8Array(randomBytes(n)) };

/** base64url of `n` random bytes (tokens, ids). */
export function randomToken(random: Random, n = 32): string {
  return Buffer.from(random.bytes(n)).toString('base64url');
}
