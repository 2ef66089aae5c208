// HEADLESS_UPGRADE's account key rotation: what the old and the new account key both sign on the NS channel.
import { type Bytes, concat, fromB64u, u32be, utf8 } from '../encoding.js';

const domain = 'nextauth-account-rotate/1';

/**
 * `lp(tag) ‖ lp(transcript hash) ‖ lp(new key thumbprint)`, `lp` = 4-byte big-endian length + bytes. The old
 * key signs it as the account's word that the new key succeeds it (as protocol/succession.ts does for server
 * keys), the new key to prove it is held; the channel's transcript hash makes both good on this channel only.
 */
export function accountRotationSignedData(transcriptHash: Uint8Array, newKeyThumbprint: string): Bytes {
  const field = (bytes: Uint8Array) => concat(u32be(bytes.length), bytes);
  return concat(field(utf8(domain)), field(transcriptHash), field(utf8(newKeyThumbprint)));
}

/** Verifies an ECDSA P-256 / SHA-256 signature (r ‖ s, base64url) by a raw public key. */
export async function verifyRotationSignature(
  publicKeyRaw: Uint8Array,
  signature: string,
  data: Uint8Array,
): Promise<boolean> {
  const key = await globalThis.crypto.subtle.importKey(
    'raw',
    publicKeyRaw as Bytes,
    { name: 'ECDSA', namedCurve: 'P-256' },
    false,
    ['verify'],
  );
  return globalThis.crypto.subtle.verify(
    { name: 'ECDSA', hash: 'SHA-256' },
    key,
    fromB64u(signature),
    data as Bytes,
  );
}
