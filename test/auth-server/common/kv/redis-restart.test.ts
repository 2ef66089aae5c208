// RedisKv across a Redis restart (a redis-server of the test's own): readiness fails while it is down and
// recovers by itself, subscriptions come back, and each subscription hears that it may have missed messages.
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { parseRedisUri, RedisKv } from '../../../../auth-server/common/kv/redis.js';
import { type OwnRedis, requireOwnRedis, startOwnRedis } from '../../../helpers/own-services.js';

async function until(check: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gave up waiting for ${what}`);
}

const pings = (kv: RedisKv) =>
  kv.ping().then(
    () => true,
    () => false,
  );

describe('RedisKv across a Redis restart', function () {
  this.timeout(60_000);
  let redis: OwnRedis | undefined;

  before(async function () {
    await requireOwnRedis(this);
    redis = await startOwnRedis();
  });

  after(async () => {
    await redis?.destroy();
  });

  it('ping fails while Redis is down and succeeds again after it is back; keys survive (append-only file)', async () => {
    if (!redis) throw new Error('no redis');
    const kv = new RedisKv(redis.uri, { prefix: 'restart-a:', onError: () => {} });
    try {
      await kv.set('k', 'v');
      await redis.stop();
      await until(async () => !(await pings(kv)), 'ping to fail');
      await redis.start();
      await until(() => pings(kv), 'ping to succeed');
      expect(await kv.get('k')).to.equal('v');
    } finally {
      await kv.close();
    }
  });

  it('a subscription is told after the restart (messages sent meanwhile are lost) and receives again', async () => {
    if (!redis) throw new Error('no redis');
    const kv = new RedisKv(redis.uri, { prefix: 'restart-b:', onError: () => {} });
    const other = new RedisKv(redis.uri, { prefix: 'restart-b:', onError: () => {} });
    const received: string[] = [];
    let resubscribed = 0;
    let plainResubscribed = 0;
    try {
      await kv.subscribe('ch', (m) => received.push(m), {
        onResubscribed: () => {
          resubscribed++;
        },
      });
      // An unsubscribed subscription is not told.
      const off = await kv.subscribe('gone', () => {}, {
        onResubscribed: () => {
          plainResubscribed++;
        },
      });
      await off();
      await other.publish('ch', 'before');
      await until(() => received.length === 1, 'the first message');
      await redis.stop();
      await until(async () => !(await pings(kv)), 'Redis to be down');
      await redis.start();
      await until(() => resubscribed === 1, 'the resubscribed notice');
      // The notice comes once the channel is subscribed again: a publish now is delivered.
      const direct = new Redis(parseRedisUri(redis.uri));
      try {
        expect(await direct.publish('restart-b:ch', 'after')).to.equal(1);
      } finally {
        direct.disconnect();
      }
      await until(() => received.length === 2, 'the message after the restart');
      expect(received).to.deep.equal(['before', 'after']);
      expect(plainResubscribed).to.equal(0);
    } finally {
      await kv.close();
      await other.close();
    }
  });
});
