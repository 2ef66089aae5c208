// The device's biometric key: a KeyStore key bound to the enrolled biometric set it was created under.
import { z } from 'zod';
import type { Biometrics, KeyStore, Storage } from '../ports.js';

export const BIO_STORAGE_KEY = 'biometrics';

const bioRecordSchema = z
  .object({
    v: z.literal(1),
    /** KeyStore alias of the biometric key (`bio-…`). */
    alias: z.string().min(1).max(128),
    /** The platform's enrolled-set id when the key was made: another id means the key is invalidated. */
    enrolmentId: z.string().min(1).max(200),
    createdAt: z.number().int(),
  })
  .strict();
export type BioRecord = z.output<typeof bioRecordSchema>;

/** What the SDK may do with biometrics right now. */
export type BioKeyState =
  | { state: 'none' }
  | { state: 'ready'; record: BioRecord }
  /** The enrolled set changed (or the key is gone): the key must not be used and is to be forgotten. */
  | { state: 'invalidated'; record: BioRecord };

export interface BioDeps {
  keyStore: KeyStore;
  storage: Storage;
  biometrics: Biometrics;
}

/** The stored record; an unreadable one reads as none (the key it named is then an orphan, never used). */
export async function readBioRecord(storage: Storage): Promise<BioRecord | undefined> {
  const parsed = bioRecordSchema.safeParse(await storage.get(BIO_STORAGE_KEY));
  return parsed.success ? parsed.data : undefined;
}

export async function saveBioRecord(storage: Storage, record: BioRecord): Promise<void> {
  await storage.set(BIO_STORAGE_KEY, { ...record });
}

export async function bioKeyState(deps: BioDeps): Promise<BioKeyState> {
  const record = await readBioRecord(deps.storage);
  if (!record) return { state: 'none' };
  if (!(await deps.keyStore.has(record.alias))) return { state: 'invalidated', record };
  const current = await deps.biometrics.enrolmentId();
  // A finger or face added or removed: whoever added it must not pass as the user (DESIGN.md §4).
  if (current === null || current !== record.enrolmentId) return { state: 'invalidated', record };
  return { state: 'ready', record };
}

/** Deletes the key, then the record: a crash in between leaves a record whose key is gone, i.e. invalidated. */
export async function forgetBioKey(
  deps: Pick<BioDeps, 'keyStore' | 'storage'>,
  record: BioRecord,
): Promise<void> {
  await deps.keyStore.delete(record.alias);
  await deps.storage.delete(BIO_STORAGE_KEY);
}
