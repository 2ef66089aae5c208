// Message ids this device has handled, kept until the message would have expired: the de-duplication of
// deliveries that arrive twice (by pull and by the subscription, or again after a lost ack).
import { z } from 'zod';
import type { JsonValue, Storage } from '../ports.js';

export const SEEN_STORAGE_KEY = 'mc-seen';
/** A bound on the document: beyond it the entries expiring first go (a flood cannot grow it forever). */
const maxEntries = 2000;

const documentSchema = z.object({ v: z.literal(1), ids: z.record(z.string(), z.number().int()) }).strict();

export interface SeenStore {
  has(id: string): Promise<boolean>;
  /** Remembers `id` until `expiresAt` (epoch ms); drops entries already expired at `now`. */
  add(id: string, expiresAt: number, now: number): Promise<void>;
}

export function createSeenStore(storage: Storage): SeenStore {
  const load = async (): Promise<Record<string, number>> => {
    const parsed = documentSchema.safeParse(await storage.get(SEEN_STORAGE_KEY));
    // An unreadable document is started afresh: at worst an unacknowledged message is shown once more.
    return parsed.success ? parsed.data.ids : {};
  };
  return {
    async has(id) {
      return Object.hasOwn(await load(), id);
    },
    async add(id, expiresAt, now) {
      const kept = Object.entries(await load()).filter(([, exp]) => exp > now);
      kept.push([id, expiresAt]);
      kept.sort((a, b) => b[1] - a[1]);
      const ids = Object.fromEntries(kept.slice(0, maxEntries));
      await storage.set(SEEN_STORAGE_KEY, { v: 1, ids } as unknown as JsonValue);
    },
  };
}
