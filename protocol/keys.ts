// P-256 identity keys (docs/protocol.md §4): raw SEC 1 points on the wire, JWK import/export, RFC 7638 thumbprints.
import { type CryptoProvider, defaultCrypto, ECDSA_P256, ecdsaSign, sha256 } from './crypto.js';
import { type Bytes, b64u, fromB64u, utf8 } from './encoding.js';

/** Length of an uncompressed P-256 point: 0x04 ‖ x(32) ‖ y(32). */
export const PUBLIC_KEY_LENGTH = 65;

export interface PublicJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
}

/**
 * Something that signs with an identity key without exposing it (a non-extractable WebCrypto key, a keystore,
 * a secure enclave). `sign` returns ECDSA P-256 / SHA-256 as r ‖ s (64 bytes).
 */
export interface Signer {
  readonly publicKey: Bytes;
  sign(data: Bytes): Promise<Bytes>;
}

export function isUncompressedPoint(raw: Uint8Array): boolean {
  return raw.length === PUBLIC_KEY_LENGTH && raw[0] === 0x04;
}

/** Generates an ECDSA P-256 key pair whose private key is not extractable. */
export async function generateIdentityKeyPair(c: CryptoProvider = defaultCrypto()): Promise<CryptoKeyPair> {
  return (await c.subtle.generateKey(ECDSA_P256, false, ['sign', 'verify'])) as CryptoKeyPair;
}

export async function exportPublicKeyRaw(
  key: CryptoKey,
  c: CryptoProvider = defaultCrypto(),
): Promise<Bytes> {
  return new Uint8Array(await c.subtle.exportKey('raw', key));
}

export async function signerFromKeyPair(
  pair: CryptoKeyPair,
  c: CryptoProvider = defaultCrypto(),
): Promise<Signer> {
  const publicKey = await exportPublicKeyRaw(pair.publicKey, c);
  return { publicKey, sign: (data) => ecdsaSign(c, pair.privateKey, data) };
}

export function publicKeyToJwk(raw: Uint8Array): PublicJwk {
  if (!isUncompressedPoint(raw)) throw new TypeError('not an uncompressed P-256 point');
  return { kty: 'EC', crv: 'P-256', x: b64u(raw.subarray(1, 33)), y: b64u(raw.subarray(33, 65)) };
}

export function publicKeyFromJwk(jwk: { kty?: string; crv?: string; x?: string; y?: string }): Bytes {
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || !jwk.x || !jwk.y) throw new TypeError('not a P-256 JWK');
  const x = fromB64u(jwk.x);
  const y = fromB64u(jwk.y);
  if (x.length !== 32 || y.length !== 32) throw new TypeError('bad P-256 coordinate length');
  const raw = new Uint8Array(PUBLIC_KEY_LENGTH);
  raw[0] = 0x04;
  raw.set(x, 1);
  raw.set(y, 33);
  return raw;
}

/** RFC 7638 JWK thumbprint (SHA-256, base64url): the key fingerprint used for pinning (enrol QR) and binding. */
export async function thumbprint(raw: Uint8Array, c: CryptoProvider = defaultCrypto()): Promise<string> {
  const { x, y } = publicKeyToJwk(raw);
  return b64u(await sha256(c, utf8(`{"crv":"P-256","kty":"EC","x":"${x}","y":"${y}"}`)));
}
