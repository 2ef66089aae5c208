// RedisKv details beyond the contract that need no server: readiness failing fast, closing while down.
import { expect } from 'chai';
import { RedisKv } from '../../../../auth-server/common/kv/redis.js';

describe('RedisKv without a server', () => {
  it('ping rejects within its timeout instead of hanging, and close still returns', async () => {
    const errors: Error[] = [];
    // Port 1 refuses connections: ioredis keeps reconnecting in the background.
    const kv = new RedisKv('redis://127.0.0.1:1', { pingTimeoutMs: 200, onError: (e) => errors.push(e) });
    try {
      const started = Date.now();
      let failure: unknown;
      try {
        await kv.ping();
      } catch (error) {
        failure = error;
      }
      expect(failure).to.be.instanceOf(Error);
      expect(Date.now() - started).to.be.below(1000);
      // Once ioredis knows the connection is down, ping does not even wait for the timeout.
      await new Promise((resolve) => setTimeout(resolve, 50));
      const again = Date.now();
      await kv.ping().catch(() => {});
      expect(Date.now() - again).to.be.below(100);
      expect(errors.length).to.be.greaterThan(0);
    } finally {
      await kv.close();
    }
  });
});
