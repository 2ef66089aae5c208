// In-process Kv for embedded mode: a MemoryStore plays the Redis server, each MemoryKv is one client of it.
import { type Clock, systemClock } from '../clock.js';
import { assertTtlMs, type Kv, type SetOptions, type Unsubscribe } from './kv.js';

interface Entry {
  /** A plain value, or the members of a set (`setAdd`). */
  value: string | Set<string>;
  /** Clock milliseconds after which the entry is gone; null = no expiry. */
  expiresAt: number | null;
}

type Listener = (message: string) => void;

/** Reports a subscriber's exception; by default it is rethrown outside the bus (an uncaught exception). */
export type HandlerErrorReporter = (error: unknown, channel: string) => void;

export const rethrowHandlerError: HandlerErrorReporter = (error) => {
  queueMicrotask(() => {
    throw error;
  });
};

export interface MemoryStoreOptions {
  clock?: Clock;
  /** How often expired entries nobody reads again are dropped (real time; expiry itself follows `clock`). */
  sweepIntervalMs?: number;
}

/**
 * The shared data and channels. Several MemoryKv clients (e.g. with different prefixes) may use one store,
 * which is what makes the memory implementation behave like clients of one Redis server.
 */
export class MemoryStore {
  readonly clock: Clock;
  private readonly entries = new Map<string, Entry>();
  private readonly channels = new Map<string, Set<Listener>>();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(options: MemoryStoreOptions = {}) {
    this.clock = options.clock ?? systemClock;
    // unref: an idle sweep must not keep the process alive.
    this.sweeper = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 60_000);
    this.sweeper.unref();
  }

  /** Entries held, including expired ones not evicted yet (for tests of the sweep). */
  get size(): number {
    return this.entries.size;
  }

  read(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (this.expired(entry)) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  write(key: string, entry: Entry): void {
    this.entries.set(key, entry);
  }

  remove(key: string): boolean {
    return this.read(key) !== undefined && this.entries.delete(key);
  }

  expiry(ttlMs: number | undefined): number | null {
    return ttlMs === undefined ? null : this.clock.now() + ttlMs;
  }

  listen(channel: string, listener: Listener): () => void {
    let listeners = this.channels.get(channel);
    if (listeners === undefined) {
      listeners = new Set();
      this.channels.set(channel, listeners);
    }
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0 && this.channels.get(channel) === listeners) this.channels.delete(channel);
    };
  }

  broadcast(channel: string, message: string): void {
    // Snapshot now, like a Redis server fanning out at PUBLISH time; handlers run later, never inside publish.
    const listeners = [...(this.channels.get(channel) ?? [])];
    if (listeners.length === 0) return;
    queueMicrotask(() => {
      for (const listener of listeners) listener(message);
    });
  }

  sweep(): void {
    for (const [key, entry] of this.entries) {
      if (this.expired(entry)) this.entries.delete(key);
    }
  }

  close(): void {
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  private expired(entry: Entry): boolean {
    return entry.expiresAt !== null && entry.expiresAt <= this.clock.now();
  }
}

export interface MemoryKvOptions {
  /** Prepended to every key and channel. */
  prefix?: string;
  /** Share data with other clients; without it the client owns a private store (closed with it). */
  store?: MemoryStore;
  /** Only for a private store: its clock. */
  clock?: Clock;
  onHandlerError?: HandlerErrorReporter;
}

const integer = /^-?(0|[1-9][0-9]*)$/;

const wrongType = () => new Error('kv: wrong kind of key (a value where a set was expected, or the reverse)');

export class MemoryKv implements Kv {
  readonly store: MemoryStore;
  private readonly prefix: string;
  private readonly ownsStore: boolean;
  private readonly onHandlerError: HandlerErrorReporter;
  private readonly subscriptions = new Set<() => void>();
  private closed = false;

  constructor(options: MemoryKvOptions = {}) {
    if (options.store !== undefined && options.clock !== undefined) {
      throw new Error('MemoryKv: a shared store brings its own clock; pass the clock to MemoryStore instead');
    }
    this.ownsStore = options.store === undefined;
    this.store = options.store ?? new MemoryStore(options.clock ? { clock: options.clock } : {});
    this.prefix = options.prefix ?? '';
    this.onHandlerError = options.onHandlerError ?? rethrowHandlerError;
  }

  // Every method does its work synchronously inside the async function, which is what makes each one atomic.

  async get(key: string): Promise<string | null> {
    this.open();
    return this.readValue(this.prefix + key)?.value ?? null;
  }

  async set(key: string, value: string, options: SetOptions = {}): Promise<boolean> {
    this.open();
    if (options.ttlMs !== undefined) assertTtlMs(options.ttlMs);
    const k = this.prefix + key;
    if (options.ifAbsent && this.store.read(k) !== undefined) return false;
    this.store.write(k, { value, expiresAt: this.store.expiry(options.ttlMs) });
    return true;
  }

  async getDel(key: string): Promise<string | null> {
    this.open();
    const k = this.prefix + key;
    const entry = this.readValue(k);
    if (entry === undefined) return null;
    this.store.remove(k);
    return entry.value;
  }

  async del(key: string): Promise<boolean> {
    this.open();
    return this.store.remove(this.prefix + key);
  }

  async compareAndSet(
    key: string,
    expected: string | null,
    next: string,
    options: { ttlMs?: number } = {},
  ): Promise<boolean> {
    this.open();
    if (options.ttlMs !== undefined) assertTtlMs(options.ttlMs);
    const k = this.prefix + key;
    const current = this.readValue(k);
    if ((current?.value ?? null) !== expected) return false;
    const expiresAt =
      options.ttlMs === undefined ? (current?.expiresAt ?? null) : this.store.expiry(options.ttlMs);
    this.store.write(k, { value: next, expiresAt });
    return true;
  }

  async incr(key: string, options: { ttlMs: number }): Promise<number> {
    this.open();
    assertTtlMs(options.ttlMs);
    const k = this.prefix + key;
    const current = this.readValue(k);
    const previous = current === undefined ? 0 : Number(current.value);
    if (current !== undefined && (!integer.test(current.value) || !Number.isSafeInteger(previous + 1))) {
      throw new Error('kv: value is not an integer or out of range');
    }
    const value = previous + 1;
    // A counter without expiry (written by set) gets one too: rate-limit windows must always close.
    const expiresAt = current?.expiresAt ?? this.store.expiry(options.ttlMs);
    this.store.write(k, { value: String(value), expiresAt });
    return value;
  }

  async setAdd(key: string, member: string, options: { ttlMs?: number } = {}): Promise<void> {
    this.open();
    if (options.ttlMs !== undefined) assertTtlMs(options.ttlMs);
    const k = this.prefix + key;
    const current = this.store.read(k);
    if (current !== undefined && typeof current.value === 'string') throw wrongType();
    const requested = this.store.expiry(options.ttlMs);
    // Only ever later: null (no expiry) wins over any time.
    const expiresAt =
      current === undefined
        ? requested
        : current.expiresAt === null || requested === null
          ? null
          : Math.max(current.expiresAt, requested);
    const members = new Set(current?.value as Set<string> | undefined);
    members.add(member);
    this.store.write(k, { value: members, expiresAt });
  }

  async setMembers(key: string): Promise<string[]> {
    this.open();
    const current = this.store.read(this.prefix + key);
    if (current === undefined) return [];
    if (typeof current.value === 'string') throw wrongType();
    return [...current.value];
  }

  async publish(channel: string, message: string): Promise<void> {
    this.open();
    this.store.broadcast(this.prefix + channel, message);
  }

  async subscribe(channel: string, handler: (message: string) => void): Promise<Unsubscribe> {
    this.open();
    const unlisten = this.store.listen(this.prefix + channel, (message) => {
      try {
        handler(message);
      } catch (error) {
        this.onHandlerError(error, channel);
      }
    });
    this.subscriptions.add(unlisten);
    return async () => {
      unlisten();
      this.subscriptions.delete(unlisten);
    };
  }

  async ping(): Promise<void> {
    this.open();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const unlisten of this.subscriptions) unlisten();
    this.subscriptions.clear();
    if (this.ownsStore) this.store.close();
  }

  private open(): void {
    if (this.closed) throw new Error('kv: closed');
  }

  /** The entry of a plain value (as Redis answers WRONGTYPE for a set). */
  private readValue(k: string): { value: string; expiresAt: number | null } | undefined {
    const entry = this.store.read(k);
    if (entry === undefined) return undefined;
    if (typeof entry.value !== 'string') throw wrongType();
    return { value: entry.value, expiresAt: entry.expiresAt };
  }
}
