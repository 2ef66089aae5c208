// WebCrypto wrappers (docs/protocol.md §5): SHA-256, HMAC, HKDF, ECDH/ECDSA P-256, AES-GCM over an injectable SubtleCrypto.
import { type Bytes, b64u } from './encoding.js';

/** What the channel needs from the platform: a SubtleCrypto and a CSPRNG. Inject one for tests or native bridges. */
export interface CryptoProvider {
  readonly subtle: SubtleCrypto;
  random(length: number): Bytes;
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

export const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
export const ECDH_P256 = { name: 'ECDH', namedCurve: 'P-256' } as const;
const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' } as const;

export async function sha256(c: CryptoProvider, data: Bytes): Promise<Bytes> {
  return new Uint8Array(await c.subtle.digest('SHA-256', data));
}

export function importHmacKey(c: CryptoProvider, key: Bytes): Promise<CryptoKey> {
  return c.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
}

export async function hmacSign(c: CryptoProvider, key: CryptoKey, data: Bytes): Promise<Bytes> {
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
  const k = await c.subtle.importKey('raw', ikm, 'HKDF', false, ['deriveBits']);
  return new Uint8Array(
    await c.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt, info }, k, length * 8),
  );
}

export async function generateEcdhKeyPair(c: CryptoProvider): Promise<CryptoKeyPair> {
  return (await c.subtle.generateKey(ECDH_P256, true, ['deriveBits'])) as CryptoKeyPair;
}

/** Raw ECDH P-256 shared secret: the 32-byte x coordinate (SEC 1 §3.3.1). */
export async function ecdh(c: CryptoProvider, privateKey: CryptoKey, peerPublicRaw: Bytes): Promise<Bytes> {
  const peer = await c.subtle.importKey('raw', peerPublicRaw, ECDH_P256, false, []);
  return new Uint8Array(await c.subtle.deriveBits({ name: 'ECDH', public: peer }, privateKey, 256));
}

/** ECDSA P-256 with SHA-256; the signature is r ‖ s, 32 bytes each (IEEE P1363, not DER). */
export async function ecdsaSign(c: CryptoProvider, privateKey: CryptoKey, data: Bytes): Promise<Bytes> {
  return new Uint8Array(await c.subtle.sign(ECDSA_SHA256, privateKey, data));
}

export async function ecdsaVerify(
  c: CryptoProvider,
  publicRaw: Bytes,
  signature: Bytes,
  data: Bytes,
): Promise<boolean> {
  if (signature.length !== 64) return false;
  return c.subtle.verify(ECDSA_SHA256, await verifyKey(c, publicRaw), signature, data);
}

/** Verify keys kept per SubtleCrypto (see verifyKey). */
export const maxCachedVerifyKeys = 1024;
const verifyKeys = new WeakMap<SubtleCrypto, Map<string, Promise<CryptoKey>>>();

/**
 * The raw public key imported for ECDSA verification, from a small cache: the same keys come back (a
 * server sees the keys of the phones that log in again, a client the server key it pinned), and each
 * import checks the point, which costs about as much as the verification itself (~0.2 ms on Node). A
 * CryptoKey is a function of the key bytes alone, so nothing can go stale: who may use a key is decided
 * elsewhere, every time. Least recently used out beyond `maxCachedVerifyKeys`; a failed import is dropped.
 */
function verifyKey(c: CryptoProvider, publicRaw: Bytes): Promise<CryptoKey> {
  let cache = verifyKeys.get(c.subtle);
  if (cache === undefined) {
    cache = new Map();
    verifyKeys.set(c.subtle, cache);
  }
  const id = b64u(publicRaw);
  const cached = cache.get(id);
  if (cached !== undefined) {
    cache.delete(id);
    cache.set(id, cached);
    return cached;
  }
  const imported = c.subtle.importKey('raw', publicRaw, ECDSA_P256, false, ['verify']);
  cache.set(id, imported);
  if (cache.size > maxCachedVerifyKeys) cache.delete(cache.keys().next().value as string);
  const keys = cache;
  imported.catch(() => {
    if (keys.get(id) === imported) keys.delete(id);
  });
  return imported;
}

export async function importAesGcmKey(c: CryptoProvider, raw: Bytes): Promise<CryptoKey> {
  return c.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']);
}

/** AES-GCM with a 96-bit nonce and a 128-bit tag appended to the ciphertext. */
export async function aesGcmEncrypt(
  c: CryptoProvider,
  key: CryptoKey,
  nonce: Bytes,
  aad: Bytes,
  plain: Bytes,
): Promise<Bytes> {
  return new Uint8Array(
    await c.subtle.encrypt({ name: 'AES-GCM', iv: nonce, additionalData: aad, tagLength: 128 }, key, plain),
  );
}

export async function aesGcmDecrypt(
  c: CryptoProvider,
  key: CryptoKey,
  nonce: Bytes,
  aad: Bytes,
  sealed: Bytes,
): Promise<Bytes> {
  return new Uint8Array(
    await c.subtle.decrypt({ name: 'AES-GCM', iv: nonce, additionalData: aad, tagLength: 128 }, key, sealed),
  );
}
