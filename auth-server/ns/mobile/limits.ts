// Fixed-window limits on enrolment and login scans (kv.incr), per channel and per client IP, across instances.
import { b64u, MessageError } from '../../../protocol/index.js';
import type { Clock } from '../../common/clock.js';
import type { Kv } from '../../common/kv/kv.js';

export interface MobileLimits {
  /** `enrol.begin` + `enrol.complete` per channel and window (default 10). */
  enrolPerChannel?: number;
  /** Per client IP and window (default 30). */
  enrolPerIp?: number;
  /** `login.scan` per channel and window (default 30). */
  scanPerChannel?: number;
  /** Per client IP and window (default 120: a shared office NAT scans many QR codes). */
  scanPerIp?: number;
  /** Default 60 s. */
  windowMs?: number;
}

export function channelLimiter(
  kv: Kv,
  clock: Clock,
  transcriptHash: Uint8Array,
  ip: string | undefined,
  options: MobileLimits = {},
): (operation: 'enrol' | 'scan') => Promise<void> {
  const windowMs = options.windowMs ?? 60_000;
  // Half of TH8 names the channel well enough: it is unique per handshake.
  const channel = b64u(transcriptHash.subarray(0, 16));
  const limits = {
    enrol: { channel: options.enrolPerChannel ?? 10, ip: options.enrolPerIp ?? 30 },
    scan: { channel: options.scanPerChannel ?? 30, ip: options.scanPerIp ?? 120 },
  };
  const hit = async (key: string, limit: number, now: number, window: number) => {
    const count = await kv.incr(`rl:ns-mobile:${key}:${window}`, { ttlMs: windowMs });
    if (count > limit) {
      const retryAfter = Math.max(1, Math.ceil(((window + 1) * windowMs - now) / 1000));
      throw new MessageError('rate_limited', `too many requests; retry in ${retryAfter} s`);
    }
  };
  return async (operation) => {
    const now = clock.now();
    const window = Math.floor(now / windowMs);
    await hit(`${operation}:ch:${channel}`, limits[operation].channel, now, window);
    if (ip !== undefined) await hit(`${operation}:ip:${ip}`, limits[operation].ip, now, window);
  };
}
