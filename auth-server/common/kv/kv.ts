// The shared key-value store and message bus every service uses: in-memory in embedded mode, Redis when
// distributed. Both implementations pass the same contract suite (test/auth-server/common/kv/).

export type Unsubscribe = () => Promise<void>;

export interface SetOptions {
  /** Time to live in milliseconds (a positive integer); the key disappears afterwards. */
  ttlMs?: number;
  /** Only set when the key does not exist yet (SET NX). */
  ifAbsent?: boolean;
}

export interface SubscribeOptions {
  /**
   * Called after the bus connection dropped and the subscription is active again: messages published in
   * between are lost, so the subscriber should re-read the state it follows from storage.
   */
  onResubscribed?: () => void;
}

/**
 * Keys and channels are scoped by the implementation's prefix, so two instances with different prefixes
 * never see each other's keys or messages. Every method rejects after `close()`, and an invalid `ttlMs`
 * (not a positive integer) rejects before anything is stored. A key holds either a value or a set (as in
 * Redis): the value methods reject on a set and the set methods on a value; `set` and `del` take either.
 */
export interface Kv {
  get(key: string): Promise<string | null>;
  /**
   * Returns false only when `ifAbsent` was asked for and the key already existed (then nothing changes).
   * Like Redis SET, a write without `ttlMs` leaves the key without expiry, even if it had one.
   */
  set(key: string, value: string, options?: SetOptions): Promise<boolean>;
  /** Atomically reads and removes a key (one-time values): of N concurrent callers exactly one gets it. */
  getDel(key: string): Promise<string | null>;
  /** Returns whether the key existed. */
  del(key: string): Promise<boolean>;
  /**
   * Atomically replaces the value when it currently equals `expected` (`null` = key absent).
   * Returns whether the swap happened. Without `ttlMs` the key keeps its remaining TTL (so a state machine
   * stepping through a short-lived record cannot make it immortal by forgetting the TTL).
   */
  compareAndSet(
    key: string,
    expected: string | null,
    next: string,
    options?: { ttlMs?: number },
  ): Promise<boolean>;
  /**
   * Increments a counter; the TTL is set when the counter is created (fixed-window rate limits) and later
   * increments do not extend it. Rejects, changing nothing, when the value is not an integer.
   */
  incr(key: string, options: { ttlMs: number }): Promise<number>;
  /**
   * Adds `member` to the set at `key`, creating it. The set's expiry only ever grows: with `ttlMs` it lives
   * at least that long from now, without it never expires — so a set indexing things that expire lives as
   * long as its longest-lived member.
   */
  setAdd(key: string, member: string, options?: { ttlMs?: number }): Promise<void>;
  /** The members of the set at `key` (none when missing), in no particular order. */
  setMembers(key: string): Promise<string[]>;
  /** Delivery is asynchronous (never inside `publish`), in publish order per channel, to every subscriber. */
  publish(channel: string, message: string): Promise<void>;
  /** Resolves once the subscription is active: later publishes reach `handler`. */
  subscribe(
    channel: string,
    handler: (message: string) => void,
    options?: SubscribeOptions,
  ): Promise<Unsubscribe>;
  /** Throws when the store is unreachable (readiness). */
  ping(): Promise<void>;
  /** Releases connections and timers; idempotent. */
  close(): Promise<void>;
}

/** Rejects a TTL Redis would refuse (PX needs a positive integer), so both implementations fail alike. */
export function assertTtlMs(ttlMs: number): void {
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) {
    throw new RangeError(`kv: ttlMs must be a positive integer, got ${String(ttlMs)}`);
  }
}
