// Periodic removal of mailbox messages nobody can use any more: acknowledged ones and expired ones.
import type { Clock } from '../../common/clock.js';
import type { Kv } from '../../common/kv/kv.js';
import type { Logger } from '../../common/logging.js';
import type { MailboxService } from './service.js';

const lockKey = 'mc:sweep:lock';

export interface McSweeper {
  /** One scheduled round: sweeps only when this instance wins the round's KV lock. */
  round(): Promise<boolean>;
  start(): void;
  stop(): void;
}

/** Expired messages are never delivered (every read filters on expiry); the sweep only reclaims space. */
export function createMcSweeper(options: {
  mailbox: MailboxService;
  kv: Kv;
  clock: Clock;
  logger: Logger;
  intervalMs?: number;
}): McSweeper {
  const { kv, logger, mailbox } = options;
  const intervalMs = options.intervalMs ?? 5 * 60_000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  const round = async () => {
    const mine = await kv.set(lockKey, '1', { ttlMs: Math.max(1000, intervalMs - 1000), ifAbsent: true });
    if (mine) {
      const removed = await mailbox.sweep();
      if (removed > 0) logger.info({ removed }, 'mc mailbox messages removed');
    }
    return mine;
  };
  return {
    round,
    start() {
      if (timer) return;
      timer = setInterval(() => {
        if (running) return;
        running = round()
          .catch((err: unknown) => logger.warn({ err }, 'mc sweep failed'))
          .finally(() => {
            running = undefined;
          });
      }, intervalMs);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
  };
}
