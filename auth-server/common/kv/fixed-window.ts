// One hit in a fixed-window counter on the shared KV: every instance counts against the same window, and
// KV INCR is atomic, so N racing hits let exactly `limit` through within one window. The one imprecision of
// fixed windows: up to twice the limit across a window boundary.
import type { Clock } from '../clock.js';
import type { Kv } from './kv.js';

/**
 * Counts one hit under `key` in the current window of `windowMs`. Returns undefined within `limit`, else the
 * seconds until the window ends (at least 1), for a `Retry-After`.
 */
export async function hitFixedWindow(
  kv: Kv,
  clock: Clock,
  key: string,
  limit: number,
  windowMs: number,
): Promise<number | undefined> {
  const now = clock.now();
  const window = Math.floor(now / windowMs);
  const count = await kv.incr(`${key}:${window}`, { ttlMs: windowMs });
  if (count <= limit) return undefined;
  return Math.max(1, Math.ceil(((window + 1) * windowMs - now) / 1000));
}
