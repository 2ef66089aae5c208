// The push dispatcher's own rules with stub senders: no retry past the message expiry, shutdown ends back-off
// waits, and a failing lookup is counted and contained (notify never throws, post never sees it).
import { expect } from 'chai';
import { Registry } from 'prom-client';
import { FixedClock } from '../../../auth-server/common/clock.js';
import { createPushDispatcher, type StoredMessage } from '../../../auth-server/mc/push/dispatcher.js';
import { createMcPushMetrics } from '../../../auth-server/mc/push/metrics.js';
import type { PushOutcome, PushSender } from '../../../auth-server/mc/push/sender.js';
import { logger } from './harness.js';

const minute = 60_000;

function stubSender(outcomes: PushOutcome[]): PushSender & { sends: number; closed: boolean } {
  const sender = {
    provider: 'fcm' as const,
    sends: 0,
    closed: false,
    async send() {
      sender.sends++;
      return outcomes.shift() ?? { ok: true as const };
    },
    async close() {
      sender.closed = true;
    },
  };
  return sender;
}

async function failed(registry: Registry, reason: string): Promise<number> {
  const { values } = (await registry.getSingleMetric('nextauth_mc_pushes_failed_total')?.get()) ?? {
    values: [],
  };
  return values.filter((v) => v.labels.reason === reason).reduce((n, v) => n + v.value, 0);
}

describe('mc/push: dispatcher', () => {
  const clock = new FixedClock(Date.UTC(2026, 2, 1));
  const message = (expiresIn: number): StoredMessage => ({
    id: 'm1',
    instanceId: 'i1',
    sealed: 'nxm1.a.b.c',
    collapseId: null,
    createdAt: clock.now(),
    expiresAt: clock.now() + expiresIn,
  });
  const instances = {
    pushRegistration: async () => ({ provider: 'fcm' as const, token: 't' }),
    clearPushToken: async () => true,
  };
  const transient: PushOutcome = { ok: false, kind: 'transient', reason: 'server-unavailable' };

  it('does not retry when the back-off would outlast the message', async () => {
    const registry = new Registry();
    const sender = stubSender([transient, transient]);
    const dispatcher = createPushDispatcher({
      instances,
      senders: { fcm: sender },
      clock,
      logger,
      metrics: createMcPushMetrics(registry),
      retry: { baseDelayMs: 2 * minute, maxDelayMs: 4 * minute },
      sleep: async () => {},
    });
    dispatcher.notify(message(minute));
    await dispatcher.idle();
    expect(sender.sends).to.equal(1);
    expect(await failed(registry, 'server-unavailable')).to.equal(1);
  });

  it('close ends a back-off wait, gives the push up and closes the senders', async () => {
    const registry = new Registry();
    const sender = stubSender([transient]);
    let waiting: () => void = () => {};
    const asleep = new Promise<void>((resolve) => {
      waiting = resolve;
    });
    const dispatcher = createPushDispatcher({
      instances,
      senders: { fcm: sender },
      clock,
      logger,
      metrics: createMcPushMetrics(registry),
      // Sleeps until aborted: only close() can end it.
      sleep: (_ms, signal) =>
        new Promise<void>((resolve) => {
          waiting();
          signal.addEventListener('abort', () => resolve());
        }),
    });
    dispatcher.notify(message(10 * minute));
    await asleep;
    await dispatcher.close();
    expect(sender.sends).to.equal(1);
    expect(sender.closed).to.equal(true);
    expect(await failed(registry, 'shutdown')).to.equal(1);
    dispatcher.notify(message(10 * minute));
    await dispatcher.idle();
    expect(sender.sends, 'nothing is sent after close').to.equal(1);
  });

  it('a failing registration lookup is counted, not thrown', async () => {
    const registry = new Registry();
    const sender = stubSender([]);
    const dispatcher = createPushDispatcher({
      instances: {
        ...instances,
        pushRegistration: async () => {
          throw new Error('database down');
        },
      },
      senders: { fcm: sender },
      clock,
      logger,
      metrics: createMcPushMetrics(registry),
    });
    expect(() => dispatcher.notify(message(minute))).not.to.throw();
    await dispatcher.idle();
    expect(sender.sends).to.equal(0);
    expect(await failed(registry, 'internal')).to.equal(1);
  });
});
