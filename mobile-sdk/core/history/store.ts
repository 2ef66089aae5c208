// The device's flow history: one Storage document of outcomes (who, where, when, how it ended), pruned by age.
import { z } from 'zod';
import { sdkErrorCodes } from '../errors.js';
import type { JsonValue, Storage } from '../ports.js';

export const HISTORY_KEY = 'history';

/** How long an entry is kept unless the app configures otherwise. */
export const DEFAULT_HISTORY_RETENTION_DAYS = 90;

/** A ceiling on the document, whatever the retention: a script looping logins must not grow it without end. */
export const MAX_HISTORY_ENTRIES = 500;

export const historyOutcomes = [
  'ENROLLED',
  'LOGGED_IN',
  /** Only when the device learns of it; no channel tells the phone of a logout today. */
  'LOGGED_OUT',
  /** The user cancelled or declined (`reason` says which). */
  'ABORTED',
  'PIN_CHANGED',
  'DELETED',
  'BIO_ADDED',
  /** `reason`: `not_registered` when neither the device nor the SFS had a biometric key. */
  'BIO_REMOVED',
  /** HEADLESS_UPGRADE: every account key rotated (`reason`: `partial` when some were not). */
  'UPGRADED',
  /** SIGN_TRANSACTION: the transaction was approved with the account key's signature. */
  'SIGNED',
  'ERROR',
] as const;
export type HistoryOutcome = (typeof historyOutcomes)[number];

export const historyFlowKinds = [
  'enrol',
  'login',
  'change_pin',
  'delete_account',
  'add_biometrics',
  'remove_biometrics',
  'headless_upgrade',
  'sign_transaction',
] as const;

export const historyEntrySchema = z
  .object({
    /** Epoch milliseconds of the outcome. */
    at: z.number().int(),
    flow: z.enum(historyFlowKinds),
    outcome: z.enum(historyOutcomes),
    /** ABORTED: `cancelled`, `declined` or `not_me`; DELETED: `local_only` when NS was not asked. */
    reason: z.string().max(40).optional(),
    /** The NS virtual server (global id and name) and its URL, when the flow got that far. */
    server: z
      .object({ id: z.string().max(200), name: z.string().max(63), nsUrl: z.string().max(200) })
      .strict()
      .nullable(),
    userid: z.string().max(200).nullable(),
    /** The local account id, when one was involved. */
    accountId: z.string().max(64).nullable(),
    /** ERROR: the SdkError code and its details that a user can act on. */
    error: z
      .object({
        code: z.enum(sdkErrorCodes),
        reason: z.string().max(80).optional(),
        attemptsLeft: z.number().int().optional(),
        retryAfterSeconds: z.number().int().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type HistoryEntry = z.output<typeof historyEntrySchema>;

const documentSchema = z.object({ v: z.literal(1), entries: z.array(historyEntrySchema) }).strict();

export interface HistoryStore {
  /** Entries younger than the retention at `now`, newest first. */
  list(now: number): Promise<HistoryEntry[]>;
  /** Appends and drops what expired (or overflows the ceiling) in the same write. */
  add(entry: HistoryEntry, now: number): Promise<void>;
  clear(): Promise<void>;
}

export function createHistoryStore(
  storage: Storage,
  retentionDays = DEFAULT_HISTORY_RETENTION_DAYS,
): HistoryStore {
  if (!Number.isFinite(retentionDays) || retentionDays <= 0)
    throw new RangeError('history retention must be a positive number of days');
  const retentionMs = retentionDays * 24 * 60 * 60 * 1000;
  const fresh = (entries: HistoryEntry[], now: number) => entries.filter((e) => e.at > now - retentionMs);

  async function load(): Promise<HistoryEntry[]> {
    const raw = await storage.get(HISTORY_KEY);
    if (raw === undefined) return [];
    const parsed = documentSchema.safeParse(raw);
    // History is a convenience: an unreadable document is dropped, never a reason for a flow to fail.
    return parsed.success ? parsed.data.entries : [];
  }

  return {
    async list(now) {
      // Reversed first: entries of one millisecond stay newest first (the sort is stable).
      return fresh(await load(), now)
        .reverse()
        .sort((a, b) => b.at - a.at);
    },
    async add(entry, now) {
      const entries = [...fresh(await load(), now), historyEntrySchema.parse(entry)].slice(
        -MAX_HISTORY_ENTRIES,
      );
      await storage.set(HISTORY_KEY, { v: 1, entries } as unknown as JsonValue);
    },
    async clear() {
      await storage.delete(HISTORY_KEY);
    },
  };
}
