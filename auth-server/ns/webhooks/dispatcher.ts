// Sends queued webhook deliveries: claims due rows atomically (so instances never send one twice), signs
// each attempt, and on failure schedules the next with exponential back-off and jitter until the last.
import type { Knex } from 'knex';
import type { Clock, Random } from '../../common/clock.js';
import { openString } from '../../common/crypto/secret-box.js';
import { type OutboundClient, OutboundError } from '../../common/http/outbound.js';
import type { Logger } from '../../common/logging.js';
import { cloudEventContentType } from './model.js';
import { type ClaimedDelivery, createWebhookRepository, type DeliveryOutcome } from './repository.js';
import { webhookSecretContext } from './service.js';
import { newHexId, signWebhook } from './signature.js';

export interface RetryPolicy {
  /** Attempts in all, the first included (default 8). */
  maxAttempts: number;
  /** Delay before the second attempt (default 10 s); doubles with every further one. */
  baseDelayMs: number;
  /** No delay grows beyond this (default 1 hour). */
  maxDelayMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { maxAttempts: 8, baseDelayMs: 10_000, maxDelayMs: 3_600_000 };

/**
 * The wait after attempt `attempts` failed: `base · 2^(attempts−1)` capped at `max`, then "equal jitter"
 * (a uniform pick in its upper half) so receivers that failed together do not get their retries together.
 */
export function retryDelayMs(policy: RetryPolicy, attempts: number, random: Random): number {
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempts - 1));
  const bytes = random.bytes(4);
  const unit =
    (((bytes[0] ?? 0) << 24) | ((bytes[1] ?? 0) << 16) | ((bytes[2] ?? 0) << 8) | (bytes[3] ?? 0)) >>> 0;
  return Math.floor(exp / 2 + (exp / 2) * (unit / 2 ** 32));
}

export interface WebhookDispatcherOptions {
  db: Knex;
  clock: Clock;
  random: Random;
  logger: Logger;
  secretKey: string;
  outbound: OutboundClient;
  retry?: Partial<RetryPolicy>;
  /** How long a claim holds before another instance may take the delivery over (default 60 s). */
  leaseMs?: number;
  /** Deliveries claimed per round (default 20). */
  batchSize?: number;
  /** Polling interval of `start` (default 2 s): catches retries and work queued on other instances. */
  intervalMs?: number;
}

export interface WebhookDispatcher {
  /** One round: claims what is due now and sends it; resolves with the number of attempts made. */
  runOnce(): Promise<number>;
  /** A round soon (after a commit that queued work); rounds never overlap. */
  kick(): void;
  start(): void;
  stop(): Promise<void>;
}

export function createWebhookDispatcher(options: WebhookDispatcherOptions): WebhookDispatcher {
  const { clock, random, logger, outbound } = options;
  const repository = createWebhookRepository(options.db);
  const policy: RetryPolicy = { ...defaultRetryPolicy, ...options.retry };
  const leaseMs = options.leaseMs ?? 60_000;
  const batchSize = options.batchSize ?? 20;
  const intervalMs = options.intervalMs ?? 2000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;
  let again = false;

  const attempt = async (delivery: ClaimedDelivery): Promise<void> => {
    const sentAt = clock.now();
    let status: number | null = null;
    let error: string | null = null;
    try {
      const secret = openString(
        options.secretKey,
        webhookSecretContext(delivery.webhookId),
        delivery.secretSealed,
      );
      const headers = signWebhook(secret, delivery.eventId, Math.floor(sentAt / 1000), delivery.payload);
      const res = await outbound.request(delivery.url, {
        method: 'POST',
        headers: { 'content-type': cloudEventContentType, ...headers, 'user-agent': 'nextAuth-webhooks/1' },
        body: delivery.payload,
      });
      status = res.status;
      if (status < 200 || status > 299) error = `HTTP ${status}`;
    } catch (err) {
      error = err instanceof OutboundError ? `${err.code}: ${err.message}` : 'internal error';
      if (!(err instanceof OutboundError))
        logger.error({ err, delivery: delivery.id }, 'webhook attempt failed');
    }
    const now = clock.now();
    let outcome: DeliveryOutcome;
    if (error === null) outcome = { state: 'delivered', status, error, nextAttemptAt: now, now };
    else if (delivery.attempts >= policy.maxAttempts)
      outcome = { state: 'failed', status, error, nextAttemptAt: now, now };
    else
      outcome = {
        state: 'pending',
        status,
        error,
        nextAttemptAt: now + retryDelayMs(policy, delivery.attempts, random),
        now,
      };
    if (!(await repository.finish(delivery.id, delivery.claimToken, outcome))) {
      // The lease ran out and another dispatcher took over: its outcome counts.
      logger.warn({ delivery: delivery.id }, 'webhook delivery outcome dropped: claim expired');
      return;
    }
    if (outcome.state === 'failed')
      logger.warn(
        { delivery: delivery.id, webhook: delivery.webhookId, attempts: delivery.attempts, error },
        'webhook delivery failed for good',
      );
  };

  const round = async (): Promise<number> => {
    const now = clock.now();
    let attempts = 0;
    for (const id of await repository.due(now, batchSize)) {
      const claimed = await repository.claim(id, newHexId(random), now, leaseMs);
      if (!claimed) continue;
      // A lease that ran out after the last attempt: the earlier holder never reported back.
      if (claimed.attempts > policy.maxAttempts) {
        await repository.finish(claimed.id, claimed.claimToken, {
          state: 'failed',
          status: null,
          error: 'no outcome reported',
          nextAttemptAt: now,
          now,
        });
        continue;
      }
      attempts++;
      await attempt(claimed);
    }
    return attempts;
  };

  const runOnce = (): Promise<number> => {
    if (running) {
      again = true;
      return running;
    }
    running = round().finally(() => {
      running = undefined;
      if (again) {
        again = false;
        kick();
      }
    });
    return running;
  };

  const kick = () => {
    void runOnce().catch((err: unknown) => logger.warn({ err }, 'webhook dispatch round failed'));
  };

  return {
    runOnce,
    kick,
    start() {
      if (timer) return;
      timer = setInterval(kick, intervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      again = false;
      await running?.catch(() => 0);
    },
  };
}
