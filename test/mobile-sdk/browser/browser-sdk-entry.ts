// Page side of the browser SDK test: the browser entry of the SDK as an app would use it, driven from the
// test through `globalThis.sdkTest`. Every call answers `{ ok, value }` or the SdkError's code and details.
import {
  BrowserStorageError,
  browserWebSocketFactory,
  configureFromServer,
  createBrowserSdk,
  IndexedDbKeyStore,
  IndexedDbStorage,
  type NextAuthSdk,
  SdkError,
} from '../../../mobile-sdk/browser/index.js';
import { driveFlow, type FlowAnswerer } from '../../../mobile-sdk/core/flows/drive.js';
import type { ConfirmDecision } from '../../../mobile-sdk/core/flows/types.js';
import { KeyStoreError } from '../../../mobile-sdk/core/ports.js';

export type Outcome<T> =
  | { ok: true; value: T }
  | { ok: false; code: string; message: string; details: Record<string, unknown> };

async function wrap<T>(run: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await run() };
  } catch (err) {
    if (err instanceof SdkError || err instanceof KeyStoreError || err instanceof BrowserStorageError)
      return {
        ok: false,
        code: err.code,
        message: err.message,
        details: err instanceof SdkError ? { ...err.details } : {},
      };
    return { ok: false, code: 'thrown', message: String(err), details: {} };
  }
}

let opened: NextAuthSdk | undefined;
async function sdk(): Promise<NextAuthSdk> {
  opened ??= await createBrowserSdk({
    deviceDescription: 'browser SDK test',
    clientVersion: 'browser-sdk/0.1',
  });
  return opened;
}

/** Scripted user: the PINs in order; when they run out after a wrong one, gives up with the attempts left. */
function answerer(pins: string[], decision: ConfirmDecision, seen: (number | null)[]): FlowAnswerer {
  const queue = [...pins];
  const next = (attemptsLeft: number | null): string => {
    const pin = queue.shift();
    if (pin !== undefined) return pin;
    throw new SdkError('pin_invalid', undefined, attemptsLeft !== null ? { attemptsLeft } : {});
  };
  return {
    confirm: async () => decision,
    newPin: async () => next(null),
    pin: async (interaction) => {
      seen.push(interaction.attemptsLeft);
      return next(interaction.attemptsLeft);
    },
  };
}

/** Every CryptoKey the key store put in IndexedDB, read directly (not through the adapter). */
async function storedKeys(): Promise<{ alias: string; key: CryptoKey }[]> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const request = indexedDB.open('nextauth-sdk');
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  try {
    return await new Promise((resolve, reject) => {
      const out: { alias: string; key: CryptoKey }[] = [];
      const request = db.transaction('keys').objectStore('keys').openCursor();
      request.onsuccess = () => {
        const cursor = request.result;
        if (!cursor) return resolve(out);
        out.push({ alias: String(cursor.key), key: (cursor.value as { key: CryptoKey }).key });
        cursor.continue();
      };
      request.onerror = () => reject(request.error);
    });
  } finally {
    db.close();
  }
}

const api = {
  configure: (base: string = location.origin) =>
    wrap(async () => {
      const configured = await configureFromServer(await sdk(), base);
      return { fingerprint: configured.publisherFingerprint, sfs: configured.config.sfs.url };
    }),

  configured: () => wrap(async () => (await sdk()).configuration?.sfs.url ?? null),

  enrol: (uri: string, pin: string) =>
    wrap(async () => {
      const result = await driveFlow((await sdk()).startEnrol(uri), answerer([pin], 'approve', []));
      return result.outcome === 'enrolled' ? result.account.userid : null;
    }),

  login: (uri: string, pins: string[]) =>
    wrap(async () => {
      const seen: (number | null)[] = [];
      try {
        const result = await driveFlow((await sdk()).startLogin(uri), answerer(pins, 'approve', seen));
        return { outcome: result.outcome, seen };
      } catch (err) {
        if (err instanceof SdkError) err.details.reason ??= `attempts seen: ${JSON.stringify(seen)}`;
        throw err;
      }
    }),

  accounts: () =>
    wrap(async () =>
      (await sdk())
        .accounts()
        .then((list) => list.map((a) => ({ userid: a.userid, alias: a.accountKeyAlias }))),
    ),

  /** Each stored key: what WebCrypto says about it, and whether any export format gets its material out. */
  keys: () =>
    wrap(async () => {
      const out = [];
      for (const { alias, key } of await storedKeys()) {
        const exported: string[] = [];
        for (const format of ['jwk', 'pkcs8', 'raw'] as const)
          await crypto.subtle.exportKey(format, key).then(
            () => exported.push(format),
            () => {},
          );
        out.push({
          alias,
          type: key.type,
          algorithm: key.algorithm.name,
          extractable: key.extractable,
          exported,
        });
      }
      return out;
    }),

  /** The KeyStore port's contract on this adapter, its refusals included (a throwaway database). */
  keyStoreContract: () =>
    wrap(async () => {
      const store = new IndexedDbKeyStore({ database: 'nextauth-sdk-contract' });
      const code = (p: Promise<unknown>) =>
        p.then(
          () => 'resolved',
          (err: unknown) => (err instanceof KeyStoreError ? err.code : String(err)),
        );
      const data = new TextEncoder().encode('transcript');
      await store.generate('ec-1');
      await store.generate('mac-1', 'hmac-sha256');
      const jwk = await store.publicJwk('ec-1');
      const publicKey = await crypto.subtle.importKey(
        'jwk',
        jwk,
        { name: 'ECDSA', namedCurve: 'P-256' },
        true,
        ['verify'],
      );
      const signature = await store.sign('ec-1', data);
      const refused = await code(store.generate('ec-1'));
      const mac1 = await store.sign('mac-1', data);
      const mac2 = await store.sign('mac-1', data);
      const result = {
        hardwareBacked: store.hardwareBacked,
        jwkFields: Object.keys(jwk).sort(),
        signatureBytes: signature.length,
        verifies: await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, publicKey, signature, data),
        macBytes: mac1.length,
        macStable: mac1.every((b, i) => b === mac2[i]),
        hasBoth: [await store.has('ec-1'), await store.has('mac-1'), await store.has('none')],
        generateTwice: refused,
        keptAfterRefusal: JSON.stringify(await store.publicJwk('ec-1')) === JSON.stringify(jwk),
        publicOfMac: await code(store.publicJwk('mac-1')),
        signMissing: await code(store.sign('none', data)),
        badAlias: await code(store.generate('../x')),
        deleteAbsent: await code(store.delete('none')),
        // The same alias from two "tabs" at once: IndexedDB's `add` lets exactly one through.
        race: (await Promise.all([code(store.generate('raced')), code(store.generate('raced'))])).sort(),
        afterDelete: await store.delete('ec-1').then(() => store.has('ec-1')),
      };
      // A stored record that is not what the store wrote (an extractable key) is refused.
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const request = indexedDB.open('nextauth-sdk-contract');
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
      const loose = await crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, true, ['sign']);
      await new Promise<void>((resolve, reject) => {
        const tx = db.transaction('keys', 'readwrite');
        tx.objectStore('keys').put({ kind: 'hmac-sha256', key: loose }, 'planted');
        tx.oncomplete = () => resolve();
        tx.onabort = () => reject(tx.error);
      });
      db.close();
      return { ...result, planted: await code(store.sign('planted', data)) };
    }),

  /** How the WebSocket factory fails: each URL's rejection message, or `opened`. */
  transportFailures: (urls: string[], openTimeoutMs: number) =>
    wrap(async () => {
      const open = browserWebSocketFactory({ openTimeoutMs });
      const out: string[] = [];
      for (const url of urls)
        out.push(
          await open(url).then(
            (transport) => {
              transport.close(1000, '');
              return 'opened';
            },
            (err: unknown) => (err instanceof Error ? err.message : String(err)),
          ),
        );
      return out;
    }),

  /** The Storage port's contract on this adapter (a throwaway database). */
  storageContract: () =>
    wrap(async () => {
      const storage = new IndexedDbStorage({ database: 'nextauth-sdk-contract' });
      const code = (p: Promise<unknown>) =>
        p.then(
          () => 'resolved',
          (err: unknown) => (err instanceof BrowserStorageError ? err.code : String(err)),
        );
      await storage.set('doc', { a: [1, 'two', null, { b: true }] });
      return {
        roundTrip: await storage.get('doc'),
        absent: (await storage.get('none')) === undefined,
        badKey: await code(storage.set('../doc', 1)),
        tooLarge: await code(storage.set('big', 'x'.repeat(1024 * 1024))),
        keptAfterTooLarge: (await storage.get('big')) === undefined,
        deleted: await storage.delete('doc').then(() => storage.get('doc')),
        deleteAbsent: await code(storage.delete('none')),
      };
    }),
};

export type SdkTestApi = typeof api;
(globalThis as unknown as { sdkTest: SdkTestApi }).sdkTest = api;
