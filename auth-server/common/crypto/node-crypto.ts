// The channel's crypto on node:crypto: WebCrypto for identity keys, synchronous primitives for everything per
// message (docs/benchmarks.md, "qr-login": each WebCrypto call costs 3–10× the CPU of the node:crypto one).
import {
  createCipheriv,
  createDecipheriv,
  createECDH,
  createHash,
  createHmac,
  createPublicKey,
  hkdfSync,
  KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { type CryptoProvider, type NativePrimitives, webCrypto } from '../../../protocol/crypto.js';
import type { Bytes } from '../../../protocol/encoding.js';

const TAG_BYTES = 16;
/** DER SubjectPublicKeyInfo of a P-256 key up to its BIT STRING: the raw uncompressed point follows. */
const P256_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');
const RAW_POINT_BYTES = 65;

/** A Uint8Array of its own: small Buffers are views into a shared pool, which callers must not see. */
const bytes = (b: Buffer | ArrayBuffer): Bytes => new Uint8Array(b);

function aesGcm(key: Bytes): 'aes-128-gcm' | 'aes-256-gcm' {
  if (key.length === 16) return 'aes-128-gcm';
  if (key.length === 32) return 'aes-256-gcm';
  throw new RangeError('AES-GCM key must be 16 or 32 bytes');
}

// A CryptoKey wraps a KeyObject; unwrapping it does not copy or export the key.
const signingKeys = new WeakMap<CryptoKey, KeyObject>();
function signingKey(key: CryptoKey): KeyObject {
  let k = signingKeys.get(key);
  if (k === undefined) {
    if (key.type !== 'private' || key.algorithm.name !== 'ECDSA' || !key.usages.includes('sign'))
      throw new TypeError('not an ECDSA signing key');
    k = KeyObject.from(key);
    signingKeys.set(key, k);
  }
  return k;
}

export const nodePrimitives: NativePrimitives = {
  sha256: (data) => bytes(createHash('sha256').update(data).digest()),
  hmacSha256: (key, data) => bytes(createHmac('sha256', key).update(data).digest()),
  hkdfSha256: (ikm, salt, info, length) => bytes(hkdfSync('sha256', ikm, salt, info, length)),
  ecdhKeyPair() {
    const ecdh = createECDH('prime256v1');
    const publicRaw = bytes(ecdh.generateKeys());
    // computeSecret decodes the peer's point and refuses one that is not on the curve.
    return { publicRaw, agree: (peer) => bytes(ecdh.computeSecret(peer)) };
  },
  ecdsaSign: (privateKey, data) =>
    bytes(sign('sha256', data, { key: signingKey(privateKey), dsaEncoding: 'ieee-p1363' })),
  importVerifyKey(publicRaw) {
    if (publicRaw.length !== RAW_POINT_BYTES) throw new TypeError('not an uncompressed P-256 point');
    return createPublicKey({
      key: Buffer.concat([P256_SPKI_PREFIX, publicRaw]),
      format: 'der',
      type: 'spki',
    });
  },
  ecdsaVerify: (key, signature, data) =>
    verify('sha256', data, { key: key as KeyObject, dsaEncoding: 'ieee-p1363' }, signature),
  aesGcmEncrypt(key, nonce, aad, plain) {
    const cipher = createCipheriv(aesGcm(key), key, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad);
    const head = cipher.update(plain);
    const tail = cipher.final();
    return bytes(Buffer.concat([head, tail, cipher.getAuthTag()]));
  },
  aesGcmDecrypt(key, nonce, aad, sealed) {
    if (sealed.length < TAG_BYTES) throw new RangeError('sealed data shorter than its tag');
    const decipher = createDecipheriv(aesGcm(key), key, nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    const head = decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES));
    return bytes(Buffer.concat([head, decipher.final()]));
  },
};

/** WebCrypto plus node:crypto's synchronous primitives: what a Node process installs with setDefaultCrypto. */
export function nodeCrypto(): CryptoProvider {
  return { ...webCrypto(), native: nodePrimitives };
}
