// A short reuse of live IdP session rows for `current`, which forward-auth calls for every request of every
// protected app: without it each check is a database read. Safe against logout because every end (on any
// instance) removes the row here at once on its own instance and, through the KV bus, on the others; a
// lost bus message is bounded by the few seconds an entry lives.
import type { Kv, Unsubscribe } from '../../auth-server/common/kv/kv.js';
import type { SessionRecord } from './repository.js';

export const sessionEndedChannel = 'idp:session-ended';

export class LiveSessionCache {
  readonly #byHash = new Map<string, { record: SessionRecord; until: number }>();
  readonly #hashById = new Map<string, string>();
  /**
   * Ids ended lately: a read that began before the end and finishes after it must not put the row back
   * (kept as long as an entry would live, which bounds what such a read could cache).
   */
  readonly #ended = new Map<string, number>();

  constructor(
    readonly ttlMs: number,
    readonly maxEntries = 10_000,
  ) {}

  get(secretHash: string, now: number): SessionRecord | undefined {
    const entry = this.#byHash.get(secretHash);
    if (!entry) return undefined;
    if (entry.until > now) return entry.record;
    this.forget(entry.record.id);
    return undefined;
  }

  set(record: SessionRecord, now: number): void {
    const endedUntil = this.#ended.get(record.id);
    if (endedUntil !== undefined) {
      if (endedUntil > now) return;
      this.#ended.delete(record.id);
    }
    if (this.#byHash.size >= this.maxEntries && !this.#byHash.has(record.secretHash)) {
      // Map order is insertion order: the oldest entry goes.
      const oldest = this.#byHash.values().next().value;
      if (oldest) this.forget(oldest.record.id);
    }
    this.#byHash.set(record.secretHash, { record, until: now + this.ttlMs });
    this.#hashById.set(record.id, record.secretHash);
  }

  /** Drops the entry; with `ended`, also refuses to cache the id again for a while. */
  forget(id: string, ended?: { now: number }): void {
    if (ended) {
      if (this.#ended.size >= this.maxEntries) this.#ended.clear();
      this.#ended.set(id, ended.now + this.ttlMs);
    }
    const hash = this.#hashById.get(id);
    if (hash === undefined) return;
    this.#hashById.delete(id);
    this.#byHash.delete(hash);
  }
}

/** Session ids are base64url tokens; anything else on the channel is not ours. */
const sessionId = /^[A-Za-z0-9_-]{1,64}$/;

export function announceSessionEnded(kv: Pick<Kv, 'publish'>, id: string): Promise<void> {
  return kv.publish(sessionEndedChannel, id);
}

export function subscribeSessionEnded(
  kv: Pick<Kv, 'subscribe'>,
  handler: (id: string) => void,
): Promise<Unsubscribe> {
  return kv.subscribe(sessionEndedChannel, (message) => {
    if (sessionId.test(message)) handler(message);
  });
}
