// Secrets at rest (DESIGN.md §6): AES-256-GCM under a key derived by HKDF-SHA-256 from NEXTAUTH_SECRET_KEY.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/** Format tag of sealed values; a new KDF or cipher gets a new tag, so old values stay readable. */
const version = 'sb1';
const ivBytes = 12;
const tagBytes = 16;

export type SecretBoxErrorCode = 'secret_box_malformed' | 'secret_box_unauthentic';

/** A sealed value that cannot be opened; the message never contains key or plaintext. */
export class SecretBoxError extends Error {
  override name = 'SecretBoxError';
  constructor(readonly code: SecretBoxErrorCode) {
    super(
      code === 'secret_box_malformed'
        ? 'sealed value is malformed'
        : 'sealed value failed authentication (wrong NEXTAUTH_SECRET_KEY, wrong context, or tampered)',
    );
  }
}

/**
 * Per-context key: a row's sealed value opened under another context (say, another key's id) fails, so
 * values cannot be swapped between rows in a stolen-and-modified database.
 */
function deriveKey(secretKey: string, context: string): Buffer {
  if (secretKey.length < 16) throw new RangeError('secret key must have at least 16 characters');
  return Buffer.from(hkdfSync('sha256', secretKey, 'nextauth-secret-box-v1', context, 32));
}

/** Encrypts `plaintext` for `context`; returns `sb1.<iv>.<ciphertext‖tag>` in base64url. */
export function seal(secretKey: string, context: string, plaintext: string | Uint8Array): string {
  const iv = randomBytes(ivBytes);
  const cipher = createCipheriv('aes-256-gcm', deriveKey(secretKey, context), iv);
  cipher.setAAD(Buffer.from(`${version}\0${context}`, 'utf8'));
  const body = Buffer.concat([
    cipher.update(typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext),
    cipher.final(),
    cipher.getAuthTag(),
  ]);
  return `${version}.${iv.toString('base64url')}.${body.toString('base64url')}`;
}

/** Decrypts a value sealed for `context`; throws SecretBoxError if it was altered or the key differs. */
export function open(secretKey: string, context: string, sealed: string): Buffer {
  const parts = sealed.split('.');
  if (parts.length !== 3 || parts[0] !== version) throw new SecretBoxError('secret_box_malformed');
  const iv = Buffer.from(parts[1] ?? '', 'base64url');
  const body = Buffer.from(parts[2] ?? '', 'base64url');
  if (iv.length !== ivBytes || body.length < tagBytes) throw new SecretBoxError('secret_box_malformed');
  const decipher = createDecipheriv('aes-256-gcm', deriveKey(secretKey, context), iv, {
    authTagLength: tagBytes,
  });
  decipher.setAAD(Buffer.from(`${version}\0${context}`, 'utf8'));
  decipher.setAuthTag(body.subarray(body.length - tagBytes));
  try {
    return Buffer.concat([decipher.update(body.subarray(0, body.length - tagBytes)), decipher.final()]);
  } catch {
    throw new SecretBoxError('secret_box_unauthentic');
  }
}

/** As `open`, decoded as UTF-8. */
export function openString(secretKey: string, context: string, sealed: string): string {
  return open(secretKey, context, sealed).toString('utf8');
}
