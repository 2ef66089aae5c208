// Browser Storage port: one small JSON document per key in IndexedDB, next to the keys.
import type { JsonValue, Storage } from '../core/ports.js';
import { DEFAULT_DATABASE, idbGet, idbWrite, lazyDatabase, STORAGE_STORE_NAME } from './idb.js';

/** The same limits as the Node file storage, so an app behaves alike on both. */
export const STORAGE_KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const MAX_DOCUMENT_CHARS = 1024 * 1024;

export class BrowserStorageError extends Error {
  override readonly name = 'BrowserStorageError';
  constructor(
    readonly code: 'invalid_key' | 'too_large' | 'corrupt',
    message: string,
  ) {
    super(message);
  }
}

export interface IndexedDbStorageOptions {
  /** IndexedDB database name (default `nextauth-sdk`), shared with `IndexedDbKeyStore`. */
  database?: string;
}

/**
 * IndexedDB rather than localStorage: a service worker (the PWA's background half) has no localStorage,
 * and localStorage blocks the page on every call. Documents are stored as JSON text, not structured clones,
 * so what comes back is JSON whatever another script of the origin put there; the core validates it.
 */
export class IndexedDbStorage implements Storage {
  private readonly db: () => Promise<IDBDatabase>;

  constructor(options: IndexedDbStorageOptions = {}) {
    this.db = lazyDatabase(options.database ?? DEFAULT_DATABASE);
  }

  async get(key: string): Promise<JsonValue | undefined> {
    checkKey(key);
    const raw = await idbGet(await this.db(), STORAGE_STORE_NAME, key);
    if (raw === undefined) return undefined;
    if (typeof raw !== 'string')
      throw new BrowserStorageError('corrupt', `document "${key}" is not JSON text`);
    if (raw.length > MAX_DOCUMENT_CHARS)
      throw new BrowserStorageError('too_large', `document "${key}" is larger than 1 MiB`);
    try {
      return JSON.parse(raw) as JsonValue;
    } catch {
      throw new BrowserStorageError('corrupt', `document "${key}" is not valid JSON`);
    }
  }

  async set(key: string, value: JsonValue): Promise<void> {
    checkKey(key);
    const raw = JSON.stringify(value);
    if (raw.length > MAX_DOCUMENT_CHARS)
      throw new BrowserStorageError('too_large', `document "${key}" is larger than 1 MiB`);
    await idbWrite(await this.db(), STORAGE_STORE_NAME, (store) => store.put(raw, key));
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    await idbWrite(await this.db(), STORAGE_STORE_NAME, (store) => store.delete(key));
  }
}

function checkKey(key: string): void {
  if (!STORAGE_KEY_PATTERN.test(key))
    throw new BrowserStorageError('invalid_key', `invalid storage key "${key}"`);
}
