// Fixed-window rate limits on the shared KV (kv.incr), so every instance counts against the same window.
import type { Clock } from '../../common/clock.js';
import { problems } from '../../common/errors.js';
import { hitFixedWindow } from '../../common/kv/fixed-window.js';
import type { Kv } from '../../common/kv/kv.js';

export interface RateLimiter {
  /** Counts one hit for `key`; throws a 429 problem with Retry-After once the window's limit is passed. */
  hit(key: string): Promise<void>;
}

export function createRateLimiter(
  kv: Kv,
  clock: Clock,
  options: { name: string; limit: number; windowMs: number },
): RateLimiter {
  const { name, limit, windowMs } = options;
  return {
    async hit(key) {
      const retryAfter = await hitFixedWindow(kv, clock, `rl:${name}:${key}`, limit, windowMs);
      if (retryAfter !== undefined) throw problems.rateLimited(retryAfter);
    },
  };
}
