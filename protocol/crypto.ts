// WebCrypto wrappers (docs/protocol.md §5): SHA-256, HMAC, HKDF, ECDH/ECDSA P-256, AES-GCM over an injectable SubtleCrypto,
// with the platform's synchronous primitives used instead where the provider has them.
import { type Bytes, b64u } from './encoding.js';

/** What the channel needs from the platform: a SubtleCrypto and a CSPRNG. Inject one for tests or native bridges. */
export interface CryptoProvider {
  readonly subtle: SubtleCrypto;
  random(length: number): Bytes;
  /**
   * The platform's own synchronous primitives, used for the channel's per-message work when present. On
   * Node each WebCrypto call costs 3–10× the CPU of the same node:crypto call (docs/benchmarks.md), and a
   * server makes dozens per login; key generation, import and export of identity keys stay on `subtle`.
   */
  readonly native?: NativePrimitives;
}

/** Synchronous P-256 / SHA-256 / AES-GCM primitives; each throws where WebCrypto would reject. */
export interface NativePrimitives {
  sha256(data: Bytes): Bytes;
  hmacSha256(key: Bytes, data: Bytes): Bytes;
  hkdfSha256(ikm: Bytes, salt: Bytes, info: Bytes, length: number): Bytes;
  /** A fresh ECDH P-256 key pair whose private half never leaves `agree`. */
  ecdhKeyPair(): { publicRaw: Bytes; agree(peerPublicRaw: Bytes): Bytes };
  ecdsaSign(privateKey: CryptoKey, data: Bytes): Bytes;
  /** Imports a raw public key for verification, checking the point; the handle is cached by the caller. */
  importVerifyKey(publicRaw: Bytes): object;
  ecdsaVerify(key: object, signature: Bytes, data: Bytes): boolean;
  aesGcmEncrypt(key: Bytes, nonce: Bytes, aad: Bytes, plain: Bytes): Bytes;
  aesGcmDecrypt(key: Bytes, nonce: Bytes, aad: Bytes, sealed: Bytes): Bytes;
}

/** An HMAC or AES-GCM key ready for use: its bytes under native primitives, else the imported CryptoKey. */
export type SecretKey = CryptoKey | Bytes;

/** An ephemeral ECDH key pair: the public point to send and the agreement with the peer's. */
export interface EcdhKeyPair {
  readonly publicRaw: Bytes;
  agree(peerPublicRaw: Bytes): Promise<Bytes>;
}

/** The platform's WebCrypto (`globalThis.crypto`: Node ≥ 19, browsers, React Native with a polyfill). */
export function webCrypto(source: Crypto = globalThis.crypto): CryptoProvider {
  if (!source?.subtle) throw new Error('WebCrypto (crypto.subtle) is not available: inject a CryptoProvider');
  return {
    subtle: source.subtle,
    random(length: number): Bytes {
      const out = new Uint8Array(length);
      source.getRandomValues(out);
      return out;
    },
  };
}

let fallback: CryptoProvider | undefined;
export function defaultCrypto(): CryptoProvider {
  fallback ??= webCrypto();
  return fallback;
}

/**
 * Makes `provider` what every call without an explicit one uses: a Node process installs its node:crypto
 * primitives once at start-up, so the channel code and its callers need not pass a provider around.
 */
export function setDefaultCrypto(provider: CryptoProvider): CryptoProvider {
  const previous = defaultCrypto();
  fallback = provider;
  return previous;
}

export const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
export const ECDH_P256 = { name: 'ECDH', namedCurve: 'P-256' } as const;
const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' } as const;

export async function sha256(c: CryptoProvider, data: Bytes): Promise<Bytes> {
  if (c.native) return c.native.sha256(data);
  return new Uint8Array(await c.subtle.digest('SHA-256', data));
}

export async function importHmacKey(c: CryptoProvider, key: Bytes): Promise<SecretKey> {
  if (c.native) return key.slice();
  return c.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
}

export async function hmacSign(c: CryptoProvider, key: SecretKey, data: Bytes): Promise<Bytes> {
  if (key instanceof Uint8Array) {
    if (c.native) return c.native.hmacSha256(key, data);
    return hmacSign(c, await importHmacKey(c, key), data);
  }
  return new Uint8Array(await c.subtle.sign('HMAC', key, data));
}

export async function hmacSha256(c: CryptoProvider, key: Bytes, data: Bytes): Promise<Bytes> {
  return hmacSign(c, await importHmacKey(c, key), data);
}

/** HKDF-SHA256 (RFC 5869) extract-then-expand in one call. */
export async function hkdfSha256(
  c: CryptoProvider,
  ikm: Bytes,
  salt: Bytes,
  info: Bytes,
  length: number,
): Promise<Bytes> {
  if (c.native) return c.native.hkdfSha256(ikm, salt, info, length);
  const k = await c.subtle.importKey('raw', ikm, 'HKDF', false, ['deriveBits']);
  return new Uint8Array(
    await c.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt, info }, k, length * 8),
  );
}

export async function generateEcdhKeyPair(c: CryptoProvider): Promise<EcdhKeyPair> {
  if (c.native) {
    const pair = c.native.ecdhKeyPair();
    return { publicRaw: pair.publicRaw, agree: async (peer) => pair.agree(peer) };
  }
  return ecdhKeyPairFromCryptoKeys(
    c,
    (await c.subtle.generateKey(ECDH_P256, true, ['deriveBits'])) as CryptoKeyPair,
  );
}

/** An ECDH key pair held as WebCrypto keys (its public key extractable): fixed test-vector ephemerals. */
export async function ecdhKeyPairFromCryptoKeys(
  c: CryptoProvider,
  pair: CryptoKeyPair,
): Promise<EcdhKeyPair> {
  const publicRaw = new Uint8Array(await c.subtle.exportKey('raw', pair.publicKey));
  return { publicRaw, agree: (peer) => ecdh(c, pair.privateKey, peer) };
}

/** Raw ECDH P-256 shared secret: the 32-byte x coordinate (SEC 1 §3.3.1). */
export async function ecdh(c: CryptoProvider, privateKey: CryptoKey, peerPublicRaw: Bytes): Promise<Bytes> {
  const peer = await c.subtle.importKey('raw', peerPublicRaw, ECDH_P256, false, []);
  return new Uint8Array(await c.subtle.deriveBits({ name: 'ECDH', public: peer }, privateKey, 256));
}

/** ECDSA P-256 with SHA-256; the signature is r ‖ s, 32 bytes each (IEEE P1363, not DER). */
export async function ecdsaSign(c: CryptoProvider, privateKey: CryptoKey, data: Bytes): Promise<Bytes> {
  if (c.native) return c.native.ecdsaSign(privateKey, data);
  return new Uint8Array(await c.subtle.sign(ECDSA_SHA256, privateKey, data));
}

export async function ecdsaVerify(
  c: CryptoProvider,
  publicRaw: Bytes,
  signature: Bytes,
  data: Bytes,
): Promise<boolean> {
  if (signature.length !== 64) return false;
  const native = c.native;
  if (native) return native.ecdsaVerify(await verifyKey(native, publicRaw), signature, data);
  return c.subtle.verify(ECDSA_SHA256, (await verifyKey(c.subtle, publicRaw)) as CryptoKey, signature, data);
}

/** Verify keys kept per importer (see verifyKey). */
export const maxCachedVerifyKeys = 1024;
const verifyKeys = new WeakMap<object, Map<string, Promise<object>>>();

/**
 * The raw public key imported for ECDSA verification, from a small cache: the same keys come back (a
 * server sees the keys of the phones that log in again, a client the server key it pinned), and each
 * import checks the point, which costs about as much as the verification itself (~0.2 ms on Node). A
 * key handle is a function of the key bytes alone, so nothing can go stale: who may use a key is decided
 * elsewhere, every time. Least recently used out beyond `maxCachedVerifyKeys`; a failed import is dropped.
 */
function verifyKey(importer: SubtleCrypto | NativePrimitives, publicRaw: Bytes): Promise<object> {
  let cache = verifyKeys.get(importer);
  if (cache === undefined) {
    cache = new Map();
    verifyKeys.set(importer, cache);
  }
  const id = b64u(publicRaw);
  const cached = cache.get(id);
  if (cached !== undefined) {
    cache.delete(id);
    cache.set(id, cached);
    return cached;
  }
  const imported: Promise<object> =
    'importVerifyKey' in importer
      ? new Promise((resolve) => resolve(importer.importVerifyKey(publicRaw)))
      : importer.importKey('raw', publicRaw, ECDSA_P256, false, ['verify']);
  cache.set(id, imported);
  if (cache.size > maxCachedVerifyKeys) cache.delete(cache.keys().next().value as string);
  const keys = cache;
  imported.catch(() => {
    if (keys.get(id) === imported) keys.delete(id);
  });
  return imported;
}

export async function importAesGcmKey(c: CryptoProvider, raw: Bytes): Promise<SecretKey> {
  if (c.native) return raw.slice();
  return c.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']);
}

/** AES-GCM with a 96-bit nonce and a 128-bit tag appended to the ciphertext. */
export async function aesGcmEncrypt(
  c: CryptoProvider,
  key: SecretKey,
  nonce: Bytes,
  aad: Bytes,
  plain: Bytes,
): Promise<Bytes> {
  if (key instanceof Uint8Array) {
    if (c.native) return c.native.aesGcmEncrypt(key, nonce, aad, plain);
    return aesGcmEncrypt(c, await importAesGcmKey(c, key), nonce, aad, plain);
  }
  return new Uint8Array(
    await c.subtle.encrypt({ name: 'AES-GCM', iv: nonce, additionalData: aad, tagLength: 128 }, key, plain),
  );
}

export async function aesGcmDecrypt(
  c: CryptoProvider,
  key: SecretKey,
  nonce: Bytes,
  aad: Bytes,
  sealed: Bytes,
): Promise<Bytes> {
  if (key instanceof Uint8Array) {
    if (c.native) return c.native.aesGcmDecrypt(key, nonce, aad, sealed);
    return aesGcmDecrypt(c, await importAesGcmKey(c, key), nonce, aad, sealed);
  }
  return new Uint8Array(
    await c.subtle.decrypt({ name: 'AES-GCM', iv: nonce, additionalData: aad, tagLength: 128 }, key, sealed),
  );
}
