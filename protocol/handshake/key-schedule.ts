// Key schedule (docs/protocol.md §7.3): HKDF-SHA256 from the ECDH secret, salted with transcript hashes, per direction.
import { type CryptoProvider, hkdfSha256 } from '../crypto.js';
import { type Bytes, utf8 } from '../encoding.js';
import type { CipherSuite } from '../suites.js';

export const IV_LENGTH = 12;
export const MAC_KEY_LENGTH = 32;

export const LABEL_HANDSHAKE = utf8('nextauth-channel/1 handshake');
export const LABEL_APPLICATION = utf8('nextauth-channel/1 application');
export const LABEL_SERVER_SIGNATURE = utf8('nextauth-channel/1 server signature\0');
export const LABEL_CLIENT_SIGNATURE = utf8('nextauth-channel/1 client signature\0');
export const LABEL_SUCCESSION = utf8('nextauth-channel/1 key succession\0');

export interface DirectionKeys {
  key: Bytes;
  iv: Bytes;
}

export interface HandshakeKeys {
  c2s: DirectionKeys;
  s2c: DirectionKeys;
  clientMacKey: Bytes;
  serverMacKey: Bytes;
}

export interface ApplicationKeys {
  c2s: DirectionKeys;
  s2c: DirectionKeys;
}

function split(material: Bytes, keyLength: number): [DirectionKeys, DirectionKeys, number] {
  let o = 0;
  const take = (n: number): Bytes => {
    const out = material.slice(o, o + n);
    o += n;
    return out;
  };
  const c2s = { key: take(keyLength), iv: take(IV_LENGTH) };
  const s2c = { key: take(keyLength), iv: take(IV_LENGTH) };
  return [c2s, s2c, o];
}

/** HKDF(IKM = Z, salt = TH2, info = "…handshake") → c2s key ‖ c2s iv ‖ s2c key ‖ s2c iv ‖ client mac key ‖ server mac key. */
export async function deriveHandshakeKeys(
  c: CryptoProvider,
  shared: Bytes,
  th2: Bytes,
  suite: CipherSuite,
): Promise<HandshakeKeys> {
  const k = suite.aesKeyLength;
  const material = await hkdfSha256(
    c,
    shared,
    th2,
    LABEL_HANDSHAKE,
    2 * (k + IV_LENGTH) + 2 * MAC_KEY_LENGTH,
  );
  const [c2s, s2c, o] = split(material, k);
  return {
    c2s,
    s2c,
    clientMacKey: material.slice(o, o + MAC_KEY_LENGTH),
    serverMacKey: material.slice(o + MAC_KEY_LENGTH, o + 2 * MAC_KEY_LENGTH),
  };
}

/** HKDF(IKM = Z, salt = TH8, info = "…application") → c2s key ‖ c2s iv ‖ s2c key ‖ s2c iv. */
export async function deriveApplicationKeys(
  c: CryptoProvider,
  shared: Bytes,
  th8: Bytes,
  suite: CipherSuite,
): Promise<ApplicationKeys> {
  const k = suite.aesKeyLength;
  const material = await hkdfSha256(c, shared, th8, LABEL_APPLICATION, 2 * (k + IV_LENGTH));
  const [c2s, s2c] = split(material, k);
  return { c2s, s2c };
}
