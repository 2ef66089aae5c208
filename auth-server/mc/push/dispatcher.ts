// Sends a push for each stored mailbox message, in the background: the mailbox is the source of truth and
// `post` never waits for a provider. Transient failures are retried with back-off while the message lives;
// a token the provider disowns is cleared (the app then relies on pull and the subscription).
import { setTimeout as wait } from 'node:timers/promises';
import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/logging.js';
import type { McInstanceRepository } from '../instances/repository.js';
import type { McPushMetrics } from './metrics.js';
import type { PushNotice, PushSender } from './sender.js';

/** A message just stored in the mailbox. */
export interface StoredMessage {
  id: string;
  instanceId: string;
  sealed: string;
  collapseId: string | null;
  createdAt: number;
  expiresAt: number;
}

export interface RetryPolicy {
  /** Tries per message, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { attempts: 4, baseDelayMs: 500, maxDelayMs: 8000 };

/** Deliveries in flight per process; beyond it a push is dropped (counted) and the message waits for pull. */
export const maxInFlight = 512;

export interface PushDispatcher {
  /** Starts the push for a stored message; returns at once and never throws. */
  notify(message: StoredMessage): void;
  /** Resolves when every delivery started so far has ended (tests, shutdown). */
  idle(): Promise<void>;
  /** Stops retries, waits for deliveries in flight, closes the senders. */
  close(): Promise<void>;
}

export interface PushDispatcherOptions {
  instances: Pick<McInstanceRepository, 'pushRegistration' | 'clearPushToken'>;
  senders: Partial<Record<'fcm' | 'apns', PushSender>>;
  clock: Clock;
  logger: Logger;
  metrics?: McPushMetrics;
  retry?: Partial<RetryPolicy>;
  /** Injected so tests need not wait for back-off; resolves early when `signal` aborts (shutdown). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

const defaultSleep = (ms: number, signal: AbortSignal) =>
  wait(ms, undefined, { signal, ref: false }).catch(() => {});

export function createPushDispatcher(options: PushDispatcherOptions): PushDispatcher {
  const { instances, senders, clock, logger, metrics } = options;
  const retry = { ...defaultRetryPolicy, ...options.retry };
  const sleep = options.sleep ?? defaultSleep;
  const inFlight = new Set<Promise<void>>();
  const warnedUnconfigured = new Set<string>();
  let closed = false;
  const shutdown = new AbortController();

  const failed = (provider: string, reason: string) => metrics?.failed.inc({ provider, reason });

  async function deliver(message: StoredMessage): Promise<void> {
    const registration = await instances.pushRegistration(message.instanceId);
    if (!registration || registration.provider === 'none') return;
    const { provider, token } = registration;
    const sender = senders[provider];
    if (!sender) {
      if (!warnedUnconfigured.has(provider)) {
        warnedUnconfigured.add(provider);
        logger.warn(
          { provider },
          'mc push provider not configured: its instances get no push, pull still works',
        );
      }
      failed(provider, 'not_configured');
      return;
    }
    const notice: PushNotice = {
      messageId: message.id,
      instanceId: message.instanceId,
      sealed: message.sealed,
      expiresAt: message.expiresAt,
      ...(message.collapseId !== null ? { collapseId: message.collapseId } : {}),
    };
    for (let attempt = 1; ; attempt++) {
      const outcome = await sender.send(token, notice);
      if (outcome.ok) {
        metrics?.sent.inc({ provider });
        metrics?.delivery.observe({ provider }, Math.max(0, clock.now() - message.createdAt) / 1000);
        return;
      }
      const log = { provider, instanceId: message.instanceId, messageId: message.id, reason: outcome.reason };
      if (outcome.kind === 'invalid_token') {
        const cleared = await instances.clearPushToken(message.instanceId, token);
        logger.info({ ...log, cleared }, 'mc push token refused by the provider: cleared');
        failed(provider, outcome.reason);
        return;
      }
      const delay =
        Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
      if (
        outcome.kind === 'permanent' ||
        attempt >= retry.attempts ||
        closed ||
        clock.now() + delay >= message.expiresAt
      ) {
        logger.warn({ ...log, attempts: attempt }, 'mc push failed: the message waits for pull');
        failed(provider, outcome.reason);
        return;
      }
      metrics?.retries.inc({ provider, reason: outcome.reason });
      await sleep(delay, shutdown.signal);
      if (closed) {
        failed(provider, 'shutdown');
        return;
      }
    }
  }

  return {
    notify(message) {
      if (closed) return;
      if (inFlight.size >= maxInFlight) {
        failed('any', 'overloaded');
        return;
      }
      const running: Promise<void> = deliver(message)
        .catch((err: unknown) => {
          // Database errors carry values; log the kind only.
          logger.error({ error: err instanceof Error ? err.name : typeof err }, 'mc push delivery failed');
          failed('any', 'internal');
        })
        .finally(() => inFlight.delete(running));
      inFlight.add(running);
    },
    async idle() {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
    async close() {
      closed = true;
      shutdown.abort();
      await this.idle();
      await Promise.all(Object.values(senders).map((s) => s?.close()));
    },
  };
}
