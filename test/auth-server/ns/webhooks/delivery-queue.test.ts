// The webhook delivery queue on every database: enqueue with the webhook's subscription, claims that only
// one of several concurrent claimers wins (also through two connections), an expired lease claimable again
// with the late holder's outcome dropped, retries with back-off and jitter inside their bounds, and two
// dispatchers over separate connections racing to a local receiver send every delivery once.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import type { Knex } from 'knex';
import { FixedClock, systemRandom } from '../../../../auth-server/common/clock.js';
import { seal } from '../../../../auth-server/common/crypto/secret-box.js';
import { migrateLatest } from '../../../../auth-server/common/db/migrate.js';
import { createOutboundClient } from '../../../../auth-server/common/http/outbound.js';
import { MemoryKv } from '../../../../auth-server/common/kv/memory.js';
import { createLogger } from '../../../../auth-server/common/logging.js';
import { createSweeper } from '../../../../auth-server/ns/maintenance/sweeper.js';
import { createVirtualServerRepository } from '../../../../auth-server/ns/servers/repository.js';
import {
  createWebhookDispatcher,
  defaultRetryPolicy,
  retryDelayMs,
} from '../../../../auth-server/ns/webhooks/dispatcher.js';
import { createWebhookRepository } from '../../../../auth-server/ns/webhooks/repository.js';
import { webhookSecretContext } from '../../../../auth-server/ns/webhooks/service.js';
import { newHexId, newWebhookSecret } from '../../../../auth-server/ns/webhooks/signature.js';
import { describeEachDatabase } from '../../common/db/databases.js';

const logger = createLogger({ level: 'silent', format: 'json' });
const secretKey = 'queue-test-secret-key-0123456789';

describe('ns webhook retry delays', () => {
  it('doubles from the base up to the cap, with jitter in the upper half', () => {
    const policy = { ...defaultRetryPolicy, baseDelayMs: 1000, maxDelayMs: 8000 };
    for (const [attempts, full] of [
      [1, 1000],
      [2, 2000],
      [3, 4000],
      [4, 8000],
      [9, 8000],
    ] as const) {
      for (let i = 0; i < 50; i++) {
        const delay = retryDelayMs(policy, attempts, systemRandom);
        expect(delay, `after attempt ${attempts}`).to.be.within(full / 2, full);
      }
    }
    const low = retryDelayMs(policy, 3, { bytes: (n) => new Uint8Array(n) });
    const high = retryDelayMs(policy, 3, { bytes: (n) => new Uint8Array(n).fill(255) });
    expect([low, high]).to.deep.equal([2000, 3999]);
  });
});

describeEachDatabase('ns webhook delivery queue', (db) => {
  let knex: Knex;
  let clock: FixedClock;
  let serverId: string;
  let seq = 0;

  before(() => migrateLatest(db().knex, 'ns'));
  beforeEach(async () => {
    knex = db().knex;
    clock = new FixedClock(Date.UTC(2026, 2, 1, 12));
    seq++;
    const server = await createVirtualServerRepository(knex, clock).create({
      name: `q${seq}-${Date.now().toString(36)}`,
      displayName: 'Queue',
    });
    serverId = server.id;
  });

  /** A webhook of this test's server to `url`, and `n` queued deliveries for it. */
  const queued = async (url: string, n: number) => {
    const webhookId = newHexId(systemRandom);
    const repository = createWebhookRepository(knex);
    await repository.save(
      {
        id: webhookId,
        serverId,
        url,
        events: ['LOGIN'],
        description: null,
        createdAt: new Date(clock.now()),
        createdBy: 'root',
      },
      seal(secretKey, webhookSecretContext(webhookId), newWebhookSecret(systemRandom)),
    );
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const id = newHexId(systemRandom);
      ids.push(id);
      await repository.enqueue([
        {
          id,
          webhookId,
          eventId: newHexId(systemRandom),
          eventType: 'LOGIN',
          payload: `{"n":${i}}`,
          now: clock.now(),
        },
      ]);
    }
    return { webhookId, ids };
  };

  it('of concurrent claims of one delivery exactly one wins, also over two connections', async () => {
    const { ids } = await queued('http://127.0.0.1:1/x', 1);
    const [id] = ids as [string];
    const other = db().open({ max: 2 });
    try {
      const claims = await Promise.all(
        [knex, other, knex, other].map((handle) =>
          createWebhookRepository(handle).claim(id, newHexId(systemRandom), clock.now(), 60_000),
        ),
      );
      expect(claims.filter((c) => c !== undefined)).to.have.length(1);
      const row = await knex('ns_webhook_deliveries').where({ id }).first();
      expect(row.state).to.equal('delivering');
      expect(Number(row.attempts)).to.equal(1);
    } finally {
      await other.destroy();
    }
  });

  it('an expired lease is claimable again; the late holder cannot record its outcome', async () => {
    const { ids } = await queued('http://127.0.0.1:1/x', 1);
    const [id] = ids as [string];
    const repository = createWebhookRepository(knex);
    const first = await repository.claim(id, 'a'.repeat(32), clock.now(), 1000);
    expect(first).to.not.equal(undefined);
    expect(await repository.due(clock.now(), 10)).to.not.include(id);
    expect(await repository.claim(id, 'b'.repeat(32), clock.now(), 1000)).to.equal(undefined);
    clock.advance(1000);
    expect(await repository.due(clock.now(), 10)).to.include(id);
    const second = await repository.claim(id, 'b'.repeat(32), clock.now(), 1000);
    expect(second?.attempts).to.equal(2);
    const outcome = {
      state: 'delivered',
      status: 200,
      error: null,
      nextAttemptAt: clock.now(),
      now: clock.now(),
    } as const;
    expect(await repository.finish(id, 'a'.repeat(32), outcome)).to.equal(false);
    expect(await repository.finish(id, 'b'.repeat(32), outcome)).to.equal(true);
    const [listed] = await repository.deliveries(second?.webhookId ?? '', { limit: 5 });
    expect(listed).to.deep.include({ state: 'delivered', attempts: 2, lastStatus: 200 });
  });

  it('two dispatchers on separate connections deliver each queued item once', async () => {
    const seen: string[] = [];
    const receiver: Server = createServer((req, res) => {
      seen.push(String(req.headers['webhook-id']));
      req.resume();
      req.on('end', () => res.end());
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const { webhookId } = await queued(url, 12);
    const other = db().open({ max: 4 });
    try {
      const outbound = createOutboundClient({ allow: ['127.0.0.1'] });
      const dispatcher = (handle: Knex) =>
        createWebhookDispatcher({
          db: handle,
          clock,
          random: systemRandom,
          logger,
          secretKey,
          outbound,
          batchSize: 100,
        });
      const counts = await Promise.all([dispatcher(knex).runOnce(), dispatcher(other).runOnce()]);
      expect(counts[0] + counts[1]).to.equal(12);
      expect(seen).to.have.length(12);
      expect(new Set(seen).size).to.equal(12);
      const rows = await knex('ns_webhook_deliveries')
        .where({ webhook_id: webhookId })
        .select('state', 'attempts');
      expect(rows.every((r) => r.state === 'delivered' && Number(r.attempts) === 1)).to.equal(true);
    } finally {
      await other.destroy();
      receiver.closeAllConnections();
      await new Promise((r) => receiver.close(r));
    }
  });

  it('the sweeper removes finished deliveries after the retention, never pending ones', async () => {
    const { ids } = await queued('http://127.0.0.1:1/x', 3);
    const [done, failed, pending] = ids as [string, string, string];
    const repository = createWebhookRepository(knex);
    for (const [id, state] of [
      [done, 'delivered'],
      [failed, 'failed'],
    ] as const) {
      const claim = newHexId(systemRandom);
      await repository.claim(id, claim, clock.now(), 1000);
      await repository.finish(id, claim, {
        state,
        status: 200,
        error: null,
        nextAttemptAt: clock.now(),
        now: clock.now(),
      });
    }
    const sweeper = createSweeper({
      sessions: { deleteExpired: async () => 0 },
      enrolTokens: { deleteExpired: async () => 0 },
      webhookDeliveries: repository,
      webhookRetentionMs: 60_000,
      kv: new MemoryKv({ clock }),
      clock,
      logger,
    });
    expect((await sweeper.sweep()).webhookDeliveries).to.equal(0);
    clock.advance(60_001);
    const counts = await sweeper.sweep();
    expect(counts.webhookDeliveries).to.be.at.least(2);
    expect(await knex('ns_webhook_deliveries').whereIn('id', ids).pluck('id')).to.deep.equal([pending]);
  });

  it('deleting the server drops its webhooks and deliveries', async () => {
    const { webhookId } = await queued('http://127.0.0.1:1/x', 2);
    await knex('ns_virtual_servers').where({ id: serverId }).delete();
    expect(await knex('ns_webhooks').where({ id: webhookId })).to.deep.equal([]);
    expect(await knex('ns_webhook_deliveries').where({ webhook_id: webhookId })).to.deep.equal([]);
  });
});
