// Server key succession (docs/protocol.md §7.5): the old key signs the new one, so pinned keys can rotate.
import { type CryptoProvider, defaultCrypto, ecdsaVerify } from './crypto.js';
import { type Bytes, b64u, concat, equalBytes, fromB64u } from './encoding.js';
import { ChannelError } from './errors.js';
import { LABEL_SUCCESSION } from './handshake/key-schedule.js';
import { isUncompressedPoint, type Signer, thumbprint } from './keys.js';

/** Longest chain a server may present (one record per rotation since the oldest key still pinned anywhere). */
export const MAX_SUCCESSION_LENGTH = 8;

export interface SuccessionRecord {
  /** Raw P-256 public key being retired. */
  old: Bytes;
  /** Raw P-256 public key replacing it. */
  new: Bytes;
  /** ECDSA by `old` over "nextauth-channel/1 key succession\0" ‖ old ‖ new (r ‖ s). */
  sig: Bytes;
}

export interface SuccessionRecordJson {
  old: string;
  new: string;
  sig: string;
}

/** Keys a client trusts for a server: raw keys and/or RFC 7638 thumbprints (e.g. from the enrol QR). */
export interface ServerPin {
  keys?: readonly Bytes[];
  fingerprints?: readonly string[];
}

export function successionSigningInput(oldKey: Bytes, newKey: Bytes): Bytes {
  return concat(LABEL_SUCCESSION, oldKey, newKey);
}

/** Signs `newKey` with the retiring key. */
export async function createSuccessionRecord(oldKey: Signer, newKey: Bytes): Promise<SuccessionRecord> {
  if (!isUncompressedPoint(newKey)) throw new TypeError('new key is not an uncompressed P-256 point');
  const sig = await oldKey.sign(successionSigningInput(oldKey.publicKey, newKey));
  return { old: oldKey.publicKey, new: newKey, sig };
}

export function successionToJson(r: SuccessionRecord): SuccessionRecordJson {
  return { old: b64u(r.old), new: b64u(r.new), sig: b64u(r.sig) };
}

export function successionFromJson(j: SuccessionRecordJson): SuccessionRecord {
  return { old: fromB64u(j.old), new: fromB64u(j.new), sig: fromB64u(j.sig) };
}

/** Canonical bytes of a chain inside the transcript: old ‖ new ‖ sig per record. */
export function encodeSuccessionChain(chain: readonly SuccessionRecord[]): Bytes {
  return concat(...chain.flatMap((r) => [r.old, r.new, r.sig]));
}

export async function isPinned(key: Bytes, pin: ServerPin, c: CryptoProvider): Promise<boolean> {
  if (pin.keys?.some((k) => equalBytes(k, key))) return true;
  if (pin.fingerprints && pin.fingerprints.length > 0) {
    const fp = await thumbprint(key, c);
    return pin.fingerprints.includes(fp);
  }
  return false;
}

/**
 * Accepts `presented` if it is pinned, or if `chain` leads from a pinned key to it with every link signed by
 * its old key. Returns whether a rotation was followed. Throws bad_succession (invalid chain) or
 * bad_server_key (not pinned, not reachable).
 */
export async function verifyServerKey(
  presented: Bytes,
  chain: readonly SuccessionRecord[],
  pin: ServerPin,
  c: CryptoProvider = defaultCrypto(),
): Promise<{ rotated: boolean }> {
  if (await isPinned(presented, pin, c)) return { rotated: false };
  if (chain.length === 0) throw new ChannelError('bad_server_key', 'server key is not pinned');
  if (chain.length > MAX_SUCCESSION_LENGTH)
    throw new ChannelError('bad_succession', 'succession chain too long');
  for (let i = 0; i < chain.length; i++) {
    const r = chain[i] as SuccessionRecord;
    if (!isUncompressedPoint(r.old) || !isUncompressedPoint(r.new)) {
      throw new ChannelError('bad_succession', `record ${i}: not a P-256 key`);
    }
    if (i > 0 && !equalBytes((chain[i - 1] as SuccessionRecord).new, r.old)) {
      throw new ChannelError('bad_succession', `record ${i} does not continue record ${i - 1}`);
    }
    let ok = false;
    try {
      ok = await ecdsaVerify(c, r.old, r.sig, successionSigningInput(r.old, r.new));
    } catch {
      ok = false;
    }
    if (!ok) throw new ChannelError('bad_succession', `record ${i}: signature does not verify`);
  }
  if (!equalBytes((chain[chain.length - 1] as SuccessionRecord).new, presented)) {
    throw new ChannelError('bad_succession', 'chain does not end at the presented key');
  }
  // Any key of the chain may be the pinned one (a client pinned at an intermediate rotation).
  for (const r of chain) {
    if (await isPinned(r.old, pin, c)) return { rotated: true };
  }
  throw new ChannelError('bad_server_key', 'succession chain does not start at a pinned key');
}
