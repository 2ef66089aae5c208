// Per-channel brake on PIN operations (kv.incr, fixed window): bounds the database work one channel can cause.
import { b64u, MessageError } from '../../../protocol/index.js';
import type { Clock } from '../../common/clock.js';
import type { Kv } from '../../common/kv/kv.js';

export interface BrakeOptions {
  /** PIN operations (`pin.set`, `pin.change`, `attest`) one channel may start per window. Default 30. */
  limit?: number;
  /** Default 60 s. */
  windowMs?: number;
}

export type Brake = () => Promise<void>;

/**
 * Not the PIN lockout: the SFS counters per (instance, NS server) are what stop guessing, and they hold
 * across channels and SFS instances. This only caps how fast a single channel can make the SFS take the
 * instance lock and run a transaction; beyond it a request is refused with `rate_limited` unevaluated,
 * so it costs no attempt either.
 */
export function channelBrake(
  kv: Kv,
  clock: Clock,
  transcriptHash: Uint8Array,
  options: BrakeOptions = {},
): Brake {
  const limit = options.limit ?? 30;
  const windowMs = options.windowMs ?? 60_000;
  // The transcript hash is unique per channel (fresh ephemerals and nonces); half of it names it well enough.
  const channel = b64u(transcriptHash.subarray(0, 16));
  return async () => {
    const now = clock.now();
    const window = Math.floor(now / windowMs);
    const count = await kv.incr(`rl:sfs-pin:${channel}:${window}`, { ttlMs: windowMs });
    if (count > limit) {
      const retryAfter = Math.max(1, Math.ceil(((window + 1) * windowMs - now) / 1000));
      throw new MessageError(
        'rate_limited',
        `too many PIN operations on this channel; retry in ${retryAfter} s`,
      );
    }
  };
}
