// RedisKv details beyond the contract: readiness failing fast, closing while down, surviving dropped connections.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { parseRedisUri, RedisKv } from '../../../../auth-server/common/kv/redis.js';
import { requireService } from '../../../helpers/services.js';
import { deleteKeys, probeRedis } from './redis-service.js';

describe('RedisKv without a server', () => {
  it('ping rejects within its timeout instead of hanging, and close still returns', async () => {
    const errors: Error[] = [];
    // Port 1 refuses connections: ioredis keeps reconnecting in the background.
    const kv = new RedisKv('redis://127.0.0.1:1', { pingTimeoutMs: 1000, onError: (e) => errors.push(e) });
    try {
      const started = Date.now();
      expect(await rejection(kv.ping())).to.be.instanceOf(Error);
      expect(Date.now() - started).to.be.below(2000);
      // Once the connection is known to be down, ping does not wait for its timeout, even mid-reconnect.
      await waitUntil(() => errors.length > 0);
      for (let i = 0; i < 5; i++) {
        const again = Date.now();
        expect((await rejection(kv.ping()))?.message).to.match(/unreachable/);
        expect(Date.now() - again).to.be.below(500);
        await new Promise((resolve) => setTimeout(resolve, 40));
      }
    } finally {
      await kv.close();
    }
  });
});

async function rejection(promise: Promise<unknown>): Promise<Error | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return error as Error;
  }
}

async function waitUntil(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('RedisKv when connections drop', () => {
  let uri: string;
  let admin: Redis;
  const prefix = `nextauth-test:${randomBytes(6).toString('hex')}:`;

  before(async function () {
    uri = await requireService(this, 'redis', probeRedis);
    admin = new Redis(parseRedisUri(uri));
  });

  after(async () => {
    if (!admin) return;
    await admin.quit();
    await deleteKeys(uri, prefix);
  });

  /** Kills the server side of one of the client's connections (reaching into private state: test only). */
  async function kill(kv: RedisKv, connection: 'client' | 'subscriber'): Promise<void> {
    const redis = (kv as unknown as Record<string, Redis>)[connection];
    const { localAddress, localPort } = redis?.stream ?? {};
    expect(localPort, `${connection} connection`).to.be.a('number');
    // ADDR is the client's address as the server sees it (LADDR would be the server's own).
    const killed = await admin.call(
      'CLIENT',
      'KILL',
      'ADDR',
      `${localAddress}:${localPort}`,
      'SKIPME',
      'yes',
    );
    expect(killed).to.equal(1);
  }

  it('resubscribes after the subscriber connection is dropped', async () => {
    const kv = new RedisKv(uri, { prefix });
    const received: string[] = [];
    try {
      await kv.subscribe('ch', (m) => received.push(m));
      await kill(kv, 'subscriber');
      // Publish until the resubscribed connection hears it (messages during the gap are lost, as in Redis).
      const deadline = Date.now() + 5000;
      while (!received.includes('after')) {
        if (Date.now() > deadline) throw new Error('no delivery after reconnect');
        await kv.publish('ch', 'after');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      await kv.close();
    }
  });

  it('commands and ping work again after the command connection is dropped', async () => {
    const kv = new RedisKv(uri, { prefix, pingTimeoutMs: 500 });
    try {
      await kv.set('k', 'v');
      await kill(kv, 'client');
      // Queued while ioredis reconnects, then answered.
      expect(await kv.get('k')).to.equal('v');
      await kv.ping();
    } finally {
      await kv.close();
    }
  });
});
