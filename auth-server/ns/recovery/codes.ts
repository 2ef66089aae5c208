// Recovery codes as users see them (ten characters of Crockford base32, shown as XXXXX-XXXXX: 50 random
// bits) and as NS stores them (HMAC-SHA-256 under a key derived from NEXTAUTH_SECRET_KEY, bound to server and
// userid), never in plain.
import { createHmac } from 'node:crypto';
import type { Random } from '../../common/clock.js';

/** Crockford's base32: no I, L, O or U, so nothing reads as another character. */
const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const codeLength = 10;
export const codesPerSet = 10;
/** What a user may type: the code with spaces or hyphens, in any case. */
export const maxCodeInputLength = 32;

/** A fresh code, formatted for people. 256 is a multiple of 32, so `byte & 31` is uniform. */
export function newRecoveryCode(random: Random): string {
  const chars = [...random.bytes(codeLength)].map((b) => alphabet[b & 31]).join('');
  return `${chars.slice(0, 5)}-${chars.slice(5)}`;
}

/** The code in its canonical form, or undefined when it cannot be one of ours (no query is made then). */
export function normalizeRecoveryCode(input: string): string | undefined {
  if (input.length > maxCodeInputLength) return undefined;
  const canonical = input.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  return canonical.length === codeLength && [...canonical].every((c) => alphabet.includes(c))
    ? canonical
    : undefined;
}

/** The key that hashes codes: derived, so the secret key itself is never used for two purposes. */
export function recoveryHashKey(secretKey: string): Buffer {
  return createHmac('sha256', secretKey).update('nextauth recovery codes v1').digest();
}

/** Hex HMAC over server id, userid and the canonical code (NUL-separated: no two inputs collide). */
export function hashRecoveryCode(key: Buffer, serverId: string, userid: string, canonical: string): string {
  return createHmac('sha256', key).update(`${serverId}\0${userid}\0${canonical}`).digest('hex');
}
