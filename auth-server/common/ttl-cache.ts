// A small bounded cache whose entries expire after a fixed time: for lookups on hot paths (forward-auth
// checks, token grants) whose answers may be a few seconds old.
import type { Clock } from './clock.js';

export class TtlCache<V> {
  readonly #entries = new Map<string, { value: V; expires: number }>();

  constructor(
    readonly ttlMs: number,
    readonly maxEntries: number,
    readonly clock: Clock,
  ) {}

  has(key: string): boolean {
    return this.lookup(key) !== undefined;
  }

  get(key: string): V | undefined {
    return this.lookup(key)?.value;
  }

  /** The live entry (so a cached `undefined` differs from none), in one map read. */
  lookup(key: string): { readonly value: V } | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expires > this.clock.now()) return entry;
    this.#entries.delete(key);
    return undefined;
  }

  set(key: string, value: V): void {
    // Map keeps insertion order: the first key is the oldest, dropped when full.
    if (this.#entries.size >= this.maxEntries && !this.#entries.has(key)) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.delete(key);
    this.#entries.set(key, { value, expires: this.clock.now() + this.ttlMs });
  }
}
