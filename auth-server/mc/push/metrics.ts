// Push metrics: sent and failed by provider (failed also by reason), retries, and the delivery latency from
// the post to the provider's acceptance (not to the phone: providers do not report that).
import { Counter, Histogram, type Registry } from 'prom-client';

export interface McPushMetrics {
  sent: Counter<'provider'>;
  failed: Counter<'provider' | 'reason'>;
  retries: Counter<'provider' | 'reason'>;
  delivery: Histogram<'provider'>;
}

export function createMcPushMetrics(registry: Registry): McPushMetrics {
  return {
    sent: new Counter({
      name: 'nextauth_mc_pushes_sent_total',
      help: 'MC push notifications accepted by the provider',
      labelNames: ['provider'] as const,
      registers: [registry],
    }),
    failed: new Counter({
      name: 'nextauth_mc_pushes_failed_total',
      help: 'MC push notifications given up, by provider and reason (the message stays pullable)',
      labelNames: ['provider', 'reason'] as const,
      registers: [registry],
    }),
    retries: new Counter({
      name: 'nextauth_mc_push_retries_total',
      help: 'MC push attempts that failed transiently and were tried again',
      labelNames: ['provider', 'reason'] as const,
      registers: [registry],
    }),
    delivery: new Histogram({
      name: 'nextauth_mc_push_delivery_seconds',
      help: 'From the mailbox post to the provider accepting the push',
      labelNames: ['provider'] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
  };
}
