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
    const entry = this.#entries.get(key);
    if (!entry) return false;
    if (entry.expires > this.clock.now()) return true;
    this.#entries.delete(key);
    return false;
  }

  get(key: string): V | undefined {
    return this.has(key) ? this.#entries.get(key)?.value : undefined;
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
