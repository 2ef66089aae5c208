// The few IndexedDB operations the browser adapters need, as promises: one database, one object store each.

/** The database both adapters share by default; an app with several SDK instances passes its own name. */
export const DEFAULT_DATABASE = 'nextauth-sdk';
export const KEY_STORE_NAME = 'keys';
export const STORAGE_STORE_NAME = 'storage';
const VERSION = 1;

/**
 * Opens (and on first use creates) the database with both object stores. A newer version opened in another
 * tab asks this connection to close (`versionchange`): it does, so the other tab's upgrade is not blocked.
 */
export function openDatabase(name: string = DEFAULT_DATABASE): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(name, VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      for (const store of [KEY_STORE_NAME, STORAGE_STORE_NAME])
        if (!db.objectStoreNames.contains(store)) db.createObjectStore(store);
    };
    request.onsuccess = () => {
      const db = request.result;
      db.onversionchange = () => db.close();
      resolve(db);
    };
    request.onerror = () => reject(request.error ?? new Error(`cannot open IndexedDB "${name}"`));
    request.onblocked = () => reject(new Error(`IndexedDB "${name}" is held open by an older version`));
  });
}

/** Reads one value (undefined when absent). */
export function idbGet(db: IDBDatabase, store: string, key: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const request = db.transaction(store, 'readonly').objectStore(store).get(key);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/**
 * Writes in one readwrite transaction and resolves once it has committed (not when the request succeeded:
 * a transaction can still abort after that). `add` fails with a ConstraintError when the key exists.
 */
export function idbWrite(
  db: IDBDatabase,
  store: string,
  write: (objectStore: IDBObjectStore) => IDBRequest,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(store, 'readwrite');
    let failure: DOMException | null = null;
    tx.oncomplete = () => resolve();
    // A failed request aborts the transaction; the abort reports the request's own error (e.g. ConstraintError).
    tx.onerror = (event) => {
      failure ??= (event.target as IDBRequest | null)?.error ?? null;
    };
    tx.onabort = () => reject(failure ?? tx.error ?? new Error('IndexedDB transaction aborted'));
    write(tx.objectStore(store));
  });
}

/** Opens the database once, on first use, and keeps the connection. */
export function lazyDatabase(name: string): () => Promise<IDBDatabase> {
  let db: Promise<IDBDatabase> | undefined;
  return () => {
    db ??= openDatabase(name).catch((err: unknown) => {
      db = undefined;
      throw err;
    });
    return db;
  };
}
