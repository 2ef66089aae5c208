// The challenge an SFS attestation is bound to (DESIGN.md §4), computed alike by the SDK, NS and SFS.
import { b64u, concat, u32be, utf8 } from './encoding.js';

/**
 * What the user approves with the attestation: binding a new account key (enrol), a login, or a transaction
 * (which also binds the digest of its signed data).
 */
export type AttestationPurpose = 'enrol' | 'login' | 'transaction';

export const attestationPurposes: readonly AttestationPurpose[] = ['enrol', 'login', 'transaction'];

export interface AttestationBindingInput {
  /** NS virtual server id: the attestation's audience. */
  serverId: string;
  /** RFC 7638 thumbprint (base64url, 43 characters) of the account key that opened the NS channel. */
  accountKeyThumbprint: string;
  /** SHA-256 over the NS channel's handshake transcript (32 bytes): ties the approval to that channel. */
  transcriptHash: Uint8Array;
  purpose: AttestationPurpose;
  /** SHA-256 (32 bytes) of the canonical (JCS) transaction data; required for `transaction`, else absent. */
  transactionDigest?: Uint8Array;
}

/** Domain separation: a hash of these fields can never equal another nextAuth hash of other fields. */
const domain = 'nextauth-attestation-challenge-v1';
const thumbprintPattern = /^[A-Za-z0-9_-]{43}$/;

/** u32 big-endian length, then the bytes: no two distinct inputs share an encoding. */
function field(bytes: Uint8Array): Uint8Array {
  return concat(u32be(bytes.length), bytes);
}

/**
 * base64url(SHA-256(domain ‖ 0x00 ‖ lp(server id) ‖ lp(account key thumbprint) ‖ lp(transcript hash) ‖
 * lp(purpose) ‖ (0x01 ‖ lp(transaction digest) | 0x00))), lp = 4-byte big-endian length prefix, strings UTF-8.
 * Throws TypeError on inputs that would make the binding ambiguous or meaningless.
 */
export async function attestationChallenge(input: AttestationBindingInput): Promise<string> {
  if (input.serverId.length === 0 || input.serverId.length > 200) throw new TypeError('invalid server id');
  if (!thumbprintPattern.test(input.accountKeyThumbprint))
    throw new TypeError('account key thumbprint must be a base64url SHA-256 thumbprint');
  if (input.transcriptHash.length !== 32) throw new TypeError('transcript hash must be 32 bytes');
  if (!attestationPurposes.includes(input.purpose)) throw new TypeError('unknown purpose');
  const digest = input.transactionDigest;
  if (input.purpose === 'transaction' && digest === undefined)
    throw new TypeError('a transaction attestation needs the transaction digest');
  if (input.purpose !== 'transaction' && digest !== undefined)
    throw new TypeError(`a ${input.purpose} attestation has no transaction digest`);
  if (digest !== undefined && digest.length !== 32)
    throw new TypeError('transaction digest must be 32 bytes');
  const encoded = concat(
    utf8(domain),
    new Uint8Array([0]),
    field(utf8(input.serverId)),
    field(utf8(input.accountKeyThumbprint)),
    field(input.transcriptHash),
    field(utf8(input.purpose)),
    digest === undefined ? new Uint8Array([0]) : concat(new Uint8Array([1]), field(digest)),
  );
  return b64u(new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', encoded)));
}
