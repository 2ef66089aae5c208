// Runs the Kv contract against the in-process store (fake clock) and a real Redis (real time).
import { randomBytes } from 'node:crypto';
import { FixedClock } from '../../../../auth-server/common/clock.js';
import { MemoryKv, MemoryStore } from '../../../../auth-server/common/kv/memory.js';
import { RedisKv } from '../../../../auth-server/common/kv/redis.js';
import { requireService } from '../../../helpers/services.js';
import { kvContract } from './contract.js';
import { deleteKeys, probeRedis } from './redis-service.js';

kvContract('MemoryKv', async () => {
  const clock = new FixedClock();
  const store = new MemoryStore({ clock });
  return {
    client: async (prefix, options) => new MemoryKv({ store, prefix, ...options }),
    now: () => clock.now(),
    elapse: async (ms) => clock.advance(ms),
    ttlUnitMs: 1000,
    cleanup: async () => store.close(),
  };
});

kvContract('RedisKv', async (ctx) => {
  const uri = await requireService(ctx, 'redis', probeRedis);
  // Per run, so parallel runs against one server do not collide; removed afterwards.
  const run = `nextauth-test:${randomBytes(6).toString('hex')}:`;
  return {
    client: async (prefix, options) => new RedisKv(uri, { prefix: run + prefix, ...options }),
    now: () => Date.now(),
    elapse: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    ttlUnitMs: 100,
    cleanup: () => deleteKeys(uri, run),
  };
});
