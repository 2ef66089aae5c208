// The browser entry of the SDK: the platform-neutral core with IndexedDB keys and storage and the browser
// WebSocket. No Node imports (biome forbids them here), so a bundler can ship it in a page or service worker.
import type { TransportFactory } from '../core/channels.js';
import { systemClock } from '../core/clock.js';
import { fetchSdkConfig, SdkConfigError } from '../core/config/index.js';
import { SdkError } from '../core/errors.js';
import { type ConfiguredSdk, NextAuthSdk, type NextAuthSdkOptions } from '../core/sdk.js';
import { IndexedDbKeyStore } from './indexeddb-key-store.js';
import { IndexedDbStorage } from './indexeddb-storage.js';
import { browserWebSocketFactory } from './websocket-transport.js';

export { IndexedDbKeyStore, type IndexedDbKeyStoreOptions } from './indexeddb-key-store.js';
export { BrowserStorageError, IndexedDbStorage, type IndexedDbStorageOptions } from './indexeddb-storage.js';
export { type BrowserWebSocketOptions, browserWebSocketFactory } from './websocket-transport.js';

export interface BrowserSdkOptions extends Omit<NextAuthSdkOptions, 'keyStore' | 'storage' | 'transports'> {
  /** IndexedDB database holding keys and documents (default `nextauth-sdk`). */
  database?: string;
  /** Default: the browser WebSocket. */
  transports?: TransportFactory;
  /**
   * Ask the browser not to evict this origin's storage under pressure (default true). Eviction would lose the
   * keys and with them every enrolment; the browser may say no, which changes nothing else.
   */
  persistStorage?: boolean;
}

/** Opens the SDK on this origin's IndexedDB; a second call (another tab) sees the same keys and accounts. */
export async function createBrowserSdk(options: BrowserSdkOptions = {}): Promise<NextAuthSdk> {
  const { database, transports, persistStorage, ...rest } = options;
  if (persistStorage !== false) await navigator.storage?.persist?.().catch(() => false);
  return NextAuthSdk.open({
    ...rest,
    keyStore: new IndexedDbKeyStore(database !== undefined ? { database } : {}),
    storage: new IndexedDbStorage(database !== undefined ? { database } : {}),
    transports: transports ?? browserWebSocketFactory(),
  });
}

/**
 * Fetches `{baseUrl}/sdk-config` and configures the SDK with it: `NextAuthSdk.configure` decides which
 * publisher key to trust (pinned keys, else the one trusted on first use, else the one served with the
 * document). A page needs the same origin or CORS for the fetch, as for any other.
 */
export async function configureFromServer(sdk: NextAuthSdk, baseUrl: string): Promise<ConfiguredSdk> {
  let fetched: Awaited<ReturnType<typeof fetchSdkConfig>>;
  try {
    fetched = await fetchSdkConfig(baseUrl, { clock: systemClock });
  } catch (err) {
    if (err instanceof SdkConfigError)
      throw new SdkError('config_invalid', err.message, { reason: err.code });
    throw new SdkError('unreachable', `${baseUrl}: ${(err as Error).message}`, {}, { cause: err });
  }
  return sdk.configure(fetched.jws, { publisherKey: fetched.publisherKey });
}

export { NextAuthSdk, SdkError };
