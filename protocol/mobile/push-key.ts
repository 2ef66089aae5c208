// Proof that the app-instance key an app names as its `pushKey` is its own: a signature by that key over
// the NS channel's transcript hash. NS checks it against the public key sent along (whose thumbprint must be
// the pushKey) and asks the MC whether that key is a registered instance, so an account can only direct its
// pushes to an instance whose key its phone holds.
import { z } from 'zod';
import { defaultCrypto, ecdsaVerify } from '../crypto.js';
import { type Bytes, b64u, concat, fromB64u, utf8 } from '../encoding.js';
import { publicKeyFromJwk, publicKeyToJwk, type Signer, thumbprint } from '../keys.js';
import { publicJwkSchema } from './common.js';

const context = utf8('nextauth push-key v1\0');

export const pushKeyProofSchema = z
  .object({
    /** The app-instance public key (its RFC 7638 thumbprint is the pushKey). */
    instanceKey: publicJwkSchema,
    /** ECDSA P-256 (r ‖ s, base64url) over the context string and the channel's transcript hash. */
    signature: z.string().regex(/^[A-Za-z0-9_-]{86}$/, 'expected a P-256 signature'),
  })
  .strict();
export type PushKeyProof = z.output<typeof pushKeyProofSchema>;

const signedData = (transcriptHash: Uint8Array) => concat(context, transcriptHash);

/** The app's side: signs this channel's transcript hash with the instance key. */
export async function pushKeyProof(instance: Signer, transcriptHash: Uint8Array): Promise<PushKeyProof> {
  return {
    instanceKey: publicKeyToJwk(instance.publicKey),
    signature: b64u(await instance.sign(signedData(transcriptHash))),
  };
}

/** NS's side: true when `proof` is by the key whose thumbprint is `pushKey`, on this channel. */
export async function verifyPushKeyProof(
  pushKey: string,
  proof: PushKeyProof,
  transcriptHash: Uint8Array,
): Promise<boolean> {
  let raw: Bytes;
  try {
    raw = publicKeyFromJwk(proof.instanceKey);
  } catch {
    return false;
  }
  if ((await thumbprint(raw)) !== pushKey) return false;
  try {
    return await ecdsaVerify(defaultCrypto(), raw, fromB64u(proof.signature), signedData(transcriptHash));
  } catch {
    return false;
  }
}
