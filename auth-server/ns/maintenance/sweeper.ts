// Periodic removal of NS rows nobody can use any more: expired sessions (with their login codes), expired
// enrol tokens and push requests, transactions 30 days after they expired (unanswered ones are marked
// `expired` first), and webhook deliveries that finished (delivered or failed) a week ago. Their hashes are
// useless to an attacker, but a table that only grows slows every lookup and every backup.
import type { Clock } from '../../common/clock.js';
import type { Kv } from '../../common/kv/kv.js';
import type { Logger } from '../../common/logging.js';
import type { EnrolTokenRepository } from '../accounts/enrol-tokens.js';
import type { PushRepository } from '../push/repository.js';
import type { SessionRepository } from '../sessions/repository.js';
import type { TransactionRepository } from '../transactions/repository.js';
import type { WebhookRepository } from '../webhooks/repository.js';

export interface SweepCounts {
  sessions: number;
  enrolTokens: number;
  /** Present when the sweeper has the webhook queue. */
  webhookDeliveries?: number;
  /** Present when the sweeper has the push requests. */
  pushRequests?: number;
  /** Present when the sweeper has the transactions: unanswered ones marked `expired` this round. */
  transactionsExpired?: number;
  /** Present when the sweeper has the transactions: removed after their retention. */
  transactions?: number;
}

/** How long a transaction (with its receipt) stays after it expired: see docs/transactions.md. */
export const transactionRetentionMs = 30 * 24 * 60 * 60_000;

export interface SweeperOptions {
  sessions: Pick<SessionRepository, 'deleteExpired'>;
  enrolTokens: Pick<EnrolTokenRepository, 'deleteExpired'>;
  /** Push login requests, swept after the same grace as sessions (a late phone hears "unknown_push"). */
  pushRequests?: Pick<PushRepository, 'deleteExpired'>;
  /**
   * Transactions: marked `expired` once unanswered past their expiry, removed `transactionRetentionMs`
   * after it (answered ones too: an answer comes before the expiry, so a receipt stays at least that long).
   */
  transactions?: Pick<TransactionRepository, 'markExpired' | 'deleteExpired'>;
  /** Default 30 days. */
  transactionRetentionMs?: number;
  /** Finished deliveries are kept this long for the deliveries listing (`webhookRetentionMs`). */
  webhookDeliveries?: Pick<WebhookRepository, 'deleteFinished'>;
  /** Default 7 days. */
  webhookRetentionMs?: number;
  kv: Kv;
  clock: Clock;
  logger: Logger;
  /** How often to sweep (default 10 minutes). */
  intervalMs?: number;
  /**
   * How long an expired row stays (default 1 hour): within it a late phone or browser still gets
   * "expired" rather than "unknown", which is the clearer answer.
   */
  graceMs?: number;
}

export interface Sweeper {
  /** One sweep now, whatever other instances do. */
  sweep(): Promise<SweepCounts>;
  /** One scheduled round: sweeps only when this instance wins the round's KV lock; says whether it did. */
  round(): Promise<boolean>;
  /** Sweeps every interval; with several instances only the one holding the round's KV lock does. */
  start(): void;
  stop(): void;
}

const lockKey = 'ns:sweep:lock';

export function createSweeper(options: SweeperOptions): Sweeper {
  const { kv, clock, logger } = options;
  const intervalMs = options.intervalMs ?? 10 * 60_000;
  const graceMs = options.graceMs ?? 60 * 60_000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  async function sweep(): Promise<SweepCounts> {
    const before = clock.now() - graceMs;
    const counts: SweepCounts = {
      sessions: await options.sessions.deleteExpired(before),
      enrolTokens: await options.enrolTokens.deleteExpired(before),
    };
    if (options.pushRequests) counts.pushRequests = await options.pushRequests.deleteExpired(before);
    if (options.transactions) {
      counts.transactionsExpired = await options.transactions.markExpired(clock.now());
      counts.transactions = await options.transactions.deleteExpired(
        clock.now() - (options.transactionRetentionMs ?? transactionRetentionMs),
      );
    }
    if (options.webhookDeliveries) {
      const retentionMs = options.webhookRetentionMs ?? 7 * 24 * 60 * 60_000;
      counts.webhookDeliveries = await options.webhookDeliveries.deleteFinished(clock.now() - retentionMs);
    }
    if (Object.values(counts).some((n) => n > 0)) logger.info({ swept: counts }, 'ns expired rows removed');
    return counts;
  }

  async function round(): Promise<boolean> {
    // The lock lives a little less than one interval, so each round has one sweeper across instances.
    const mine = await kv.set(lockKey, '1', { ttlMs: Math.max(1000, intervalMs - 1000), ifAbsent: true });
    if (mine) await sweep();
    return mine;
  }

  return {
    sweep,
    round,
    start() {
      if (timer) return;
      timer = setInterval(() => {
        if (running) return;
        running = round()
          .then(() => undefined)
          // A failed sweep only delays cleanup; the next round tries again.
          .catch((err: unknown) => logger.warn({ err }, 'ns sweep failed'))
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
