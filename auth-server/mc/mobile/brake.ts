// Per-channel brake on mailbox requests (kv.incr, fixed window): bounds the database work one channel can cause.
import { b64u, MessageError } from '../../../protocol/index.js';
import type { Clock } from '../../common/clock.js';
import type { Kv } from '../../common/kv/kv.js';

export interface McBrakeOptions {
  /** Requests (register, pull, ack, subscribe) one channel may make per window. Default 120. */
  limit?: number;
  /** Default 60 s. */
  windowMs?: number;
}

export type McBrake = () => Promise<void>;

/**
 * A well-behaved app pulls when it starts and when a push arrives, and acks what it handled: a few requests
 * a minute. Beyond the limit a request is refused with `rate_limited` before it touches the database; pushes
 * on a subscription are not requests and are never braked.
 */
export function mcChannelBrake(
  kv: Kv,
  clock: Clock,
  transcriptHash: Uint8Array,
  options: McBrakeOptions = {},
): McBrake {
  const limit = options.limit ?? 120;
  const windowMs = options.windowMs ?? 60_000;
  const channel = b64u(transcriptHash.subarray(0, 16));
  return async () => {
    const now = clock.now();
    const window = Math.floor(now / windowMs);
    const count = await kv.incr(`rl:mc-channel:${channel}:${window}`, { ttlMs: windowMs });
    if (count > limit) {
      const retryAfter = Math.max(1, Math.ceil(((window + 1) * windowMs - now) / 1000));
      throw new MessageError('rate_limited', `too many requests on this channel; retry in ${retryAfter} s`);
    }
  };
}
