// Browser KeyStore: WebCrypto keys created non-extractable and kept as CryptoKey objects in IndexedDB, so
// the private key material never reaches JavaScript (the basis of a PWA authenticator).
import type { Bytes } from '../../protocol/encoding.js';
import type { PublicJwk } from '../../protocol/keys.js';
import { KEY_ALIAS_PATTERN, type KeyKind, type KeyStore, KeyStoreError } from '../core/ports.js';
import { DEFAULT_DATABASE, idbGet, idbWrite, KEY_STORE_NAME, lazyDatabase } from './idb.js';

const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const HMAC_SHA256 = { name: 'HMAC', hash: 'SHA-256', length: 256 } as const;

/** One stored key: the private CryptoKey (structured-cloned by IndexedDB, still non-extractable). */
interface KeyRecord {
  kind: KeyKind;
  key: CryptoKey;
  /** ECDSA only: the public half, exported once at generation (public keys are always extractable). */
  publicJwk?: PublicJwk;
}

export interface IndexedDbKeyStoreOptions {
  /** IndexedDB database name (default `nextauth-sdk`), shared with `IndexedDbStorage`. */
  database?: string;
}

/**
 * `hardwareBacked: false`: a browser gives no guarantee where a CryptoKey lives (Chromium keeps it in its
 * profile on disk). Non-extractable means page script, including an injected one, can use the key while it
 * runs but cannot copy it out; the origin's IndexedDB is the boundary, as a phone's app sandbox is.
 */
export class IndexedDbKeyStore implements KeyStore {
  readonly hardwareBacked = false;
  private readonly db: () => Promise<IDBDatabase>;

  constructor(options: IndexedDbKeyStoreOptions = {}) {
    this.db = lazyDatabase(options.database ?? DEFAULT_DATABASE);
  }

  async generate(alias: string, kind: KeyKind = 'ecdsa-p256'): Promise<void> {
    checkAlias(alias);
    // Generated before the transaction opens: an IndexedDB transaction commits as soon as it is idle, so it
    // cannot wait for WebCrypto.
    const record = await newRecord(kind);
    try {
      await idbWrite(await this.db(), KEY_STORE_NAME, (store) => store.add(record, alias));
    } catch (err) {
      // `add` never replaces: two tabs generating the same alias race here and exactly one wins.
      if ((err as DOMException | null)?.name === 'ConstraintError')
        throw new KeyStoreError('exists', `key "${alias}" already exists`);
      throw err;
    }
  }

  async has(alias: string): Promise<boolean> {
    checkAlias(alias);
    return (await idbGet(await this.db(), KEY_STORE_NAME, alias)) !== undefined;
  }

  async sign(alias: string, data: Bytes): Promise<Bytes> {
    const record = await this.record(alias);
    const algorithm = record.kind === 'ecdsa-p256' ? { name: 'ECDSA', hash: 'SHA-256' } : { name: 'HMAC' };
    return new Uint8Array(await crypto.subtle.sign(algorithm, record.key, data));
  }

  async publicJwk(alias: string): Promise<PublicJwk> {
    const record = await this.record(alias);
    if (record.kind !== 'ecdsa-p256' || !record.publicJwk)
      throw new KeyStoreError('wrong_kind', `key "${alias}" has no public key`);
    const { x, y } = record.publicJwk;
    return { kty: 'EC', crv: 'P-256', x, y };
  }

  async delete(alias: string): Promise<void> {
    checkAlias(alias);
    await idbWrite(await this.db(), KEY_STORE_NAME, (store) => store.delete(alias));
  }

  private async record(alias: string): Promise<KeyRecord> {
    checkAlias(alias);
    const raw = await idbGet(await this.db(), KEY_STORE_NAME, alias);
    if (raw === undefined) throw new KeyStoreError('not_found', `no key "${alias}"`);
    if (!isKeyRecord(raw))
      throw new KeyStoreError('tampered', `key "${alias}" was modified outside the key store`);
    return raw;
  }
}

async function newRecord(kind: KeyKind): Promise<KeyRecord> {
  if (kind === 'hmac-sha256') {
    const key = await crypto.subtle.generateKey(HMAC_SHA256, false, ['sign']);
    return { kind, key };
  }
  // `false` applies to the private key only; the public key stays exportable, which is all we export.
  const pair = await crypto.subtle.generateKey(ECDSA_P256, false, ['sign']);
  const jwk = await crypto.subtle.exportKey('jwk', pair.publicKey);
  if (!jwk.x || !jwk.y) throw new Error('WebCrypto exported an incomplete P-256 public key');
  return { kind, key: pair.privateKey, publicJwk: { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y } };
}

/**
 * Anything of this origin can write the database, so a record is checked before use: a key that became
 * extractable, or of another algorithm than its kind says, is not one this store made.
 */
function isKeyRecord(value: unknown): value is KeyRecord {
  if (typeof value !== 'object' || value === null) return false;
  const { kind, key, publicJwk } = value as Partial<KeyRecord>;
  if (!(key instanceof CryptoKey) || key.extractable || !key.usages.includes('sign')) return false;
  if (kind === 'hmac-sha256') return key.algorithm.name === 'HMAC';
  if (kind !== 'ecdsa-p256' || key.type !== 'private' || key.algorithm.name !== 'ECDSA') return false;
  return (
    typeof publicJwk === 'object' &&
    publicJwk !== null &&
    typeof publicJwk.x === 'string' &&
    typeof publicJwk.y === 'string'
  );
}

function checkAlias(alias: string): void {
  if (!KEY_ALIAS_PATTERN.test(alias)) throw new KeyStoreError('invalid_alias', 'invalid key alias');
}
