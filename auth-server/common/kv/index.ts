// Picks the Kv implementation from NEXTAUTH_KV_URI: in-process memory when unset, Redis otherwise.
import type { Clock } from '../clock.js';
import type { Kv } from './kv.js';
import { type HandlerErrorReporter, MemoryKv } from './memory.js';
import { RedisKv } from './redis.js';

export type { Kv, SetOptions, SubscribeOptions, Unsubscribe } from './kv.js';
export { assertTtlMs } from './kv.js';
export type { HandlerErrorReporter, MemoryKvOptions, MemoryStoreOptions } from './memory.js';
export { MemoryKv, MemoryStore, rethrowHandlerError } from './memory.js';
export type { RedisKvOptions } from './redis.js';
export { parseRedisUri, RedisKv } from './redis.js';

export interface CreateKvOptions {
  /** Expiry clock of the memory store (Redis expires keys by its own clock). */
  clock?: Clock;
  /** Prepended to every key and channel. */
  prefix?: string;
  /** Redis connection errors while ioredis reconnects (to log them). */
  onError?: (error: Error) => void;
  /** An exception thrown by a subscriber (default: rethrown as an uncaught exception). */
  onHandlerError?: HandlerErrorReporter;
}

/**
 * `undefined` or `memory://` → a MemoryKv with a store of its own: in embedded mode create one and hand
 * it to every service, or they will not see each other's keys. `redis://`, `rediss://`,
 * `redis+sentinel://` → RedisKv (format in redis.ts).
 */
export function createKv(uri: string | undefined, options: CreateKvOptions = {}): Kv {
  const { clock, prefix, onError, onHandlerError } = options;
  const scheme = uri === undefined ? 'memory:' : /^([a-z][a-z0-9+.-]*:)\/\//i.exec(uri)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'memory:':
      if (uri !== undefined && uri.toLowerCase() !== 'memory://') {
        throw new Error('kv: memory:// takes no host, path or parameters');
      }
      return new MemoryKv({
        ...(clock && { clock }),
        ...(prefix !== undefined && { prefix }),
        ...(onHandlerError && { onHandlerError }),
      });
    case 'redis:':
    case 'rediss:':
    case 'redis+sentinel:':
      return new RedisKv(uri as string, {
        ...(prefix !== undefined && { prefix }),
        ...(onError && { onError }),
        ...(onHandlerError && { onHandlerError }),
      });
    case undefined:
      throw new Error(
        'kv: KV URI has no scheme (expected memory://, redis://, rediss:// or redis+sentinel://)',
      );
    default:
      throw new Error(
        `kv: unsupported KV URI scheme "${scheme}//" (expected memory://, redis://, rediss:// or redis+sentinel://)`,
      );
  }
}
