// The shared key-value store and message bus every service uses: in-memory in embedded mode, Redis when
// distributed. Both implementations pass the same contract suite (test/auth-server/common/kv/).

export type Unsubscribe = () => Promise<void>;

export interface SetOptions {
  /** Time to live in milliseconds; the key disappears afterwards. */
  ttlMs?: number;
  /** Only set when the key does not exist yet (SET NX). */
  ifAbsent?: boolean;
}

export interface Kv {
  get(key: string): Promise<string | null>;
  /** Returns false only when `ifAbsent` was asked for and the key already existed. */
  set(key: string, value: string, options?: SetOptions): Promise<boolean>;
  /** Atomically reads and removes a key (one-time values): of N concurrent callers exactly one gets it. */
  getDel(key: string): Promise<string | null>;
  del(key: string): Promise<boolean>;
  /**
   * Atomically replaces the value when it currently equals `expected` (`null` = key absent).
   * Returns whether the swap happened.
   */
  compareAndSet(key: string, expected: string | null, next: string, options?: { ttlMs?: number }): Promise<boolean>;
  /** Increments a counter; the TTL is set when the counter is created (fixed-window rate limits). */
  incr(key: string, options: { ttlMs: number }): Promise<number>;
  publish(channel: string, message: string): Promise<void>;
  subscribe(channel: string, handler: (message: string) => void): Promise<Unsubscribe>;
  /** Throws when the store is unreachable (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}
