// The Redis test server: probe for requireService and per-run key cleanup, shared by the Redis suites.
import { Redis } from 'ioredis';
import { parseRedisUri, RedisKv } from '../../../../auth-server/common/kv/redis.js';

/** Answers when a Redis server is reachable at `uri`. */
export async function probeRedis(uri: string): Promise<void> {
  const kv = new RedisKv(uri, { pingTimeoutMs: 2000 });
  try {
    await kv.ping();
  } finally {
    await kv.close();
  }
}

/** Deletes every key starting with `prefix` (each run uses a random one, so parallel runs do not collide). */
export async function deleteKeys(uri: string, prefix: string): Promise<void> {
  const admin = new Redis(parseRedisUri(uri));
  try {
    const keys: string[] = [];
    for await (const batch of admin.scanStream({ match: `${prefix}*`, count: 1000 })) keys.push(...batch);
    if (keys.length > 0) await admin.del(...keys);
  } finally {
    await admin.quit();
  }
}
