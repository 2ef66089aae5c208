// Messages on the SFS secure channel (`/sfs/mobile`, target kind `sfs`): the client key is the app-instance key.
import { z } from 'zod';
import { type Bytes, concat, u32be, utf8 } from '../encoding.js';
import { defineMessages } from '../messages.js';
import { b64u32, pinFailureSchema, publicJwkSchema, serverIdSchema } from './common.js';

/** An ECDSA P-256 signature as r ‖ s (IEEE P1363, 64 bytes), base64url. */
const p1363Signature = z.string().regex(/^[A-Za-z0-9_-]{86}$/, 'expected base64url of a 64-byte signature');

const attestedResponse = z.object({
  ok: z.literal(true),
  attestation: z.string().max(4096),
  expiresAt: z.number().int(),
});

export const sfsMobileMessages = defineMessages({
  requests: {
    /** Registers the channel's client key as an app instance (idempotent). */
    'instance.register': {
      request: z.object({}).strict(),
      response: z.object({ instanceId: z.string(), pinSet: z.boolean() }),
    },
    /** First PIN of the instance: `pinProof` = HMAC-SHA-256(device PIN key, PIN); the PIN never leaves the device. */
    'pin.set': {
      request: z.object({ pinProof: b64u32 }).strict(),
      response: z.object({ ok: z.literal(true) }),
    },
    'pin.change': {
      request: z.object({ serverId: serverIdSchema, oldPinProof: b64u32, newPinProof: b64u32 }).strict(),
      response: z.union([z.object({ ok: z.literal(true) }), pinFailureSchema]),
    },
    /**
     * Verifies a second factor for an NS server and returns an attestation bound to `challenge` (DESIGN.md §4):
     * the PIN (`pinProof`), or the biometric key's signature over `bioSignedData(nonce, serverId, challenge)`
     * with a nonce from `bio.challenge`.
     */
    attest: {
      request: z.discriminatedUnion('method', [
        z
          .object({ serverId: serverIdSchema, challenge: b64u32, method: z.literal('pin'), pinProof: b64u32 })
          .strict(),
        z
          .object({
            serverId: serverIdSchema,
            challenge: b64u32,
            method: z.literal('bio'),
            nonce: b64u32,
            signature: p1363Signature,
          })
          .strict(),
      ]),
      response: z.union([attestedResponse, pinFailureSchema]),
    },
    /**
     * Registers (or replaces) the instance's biometric public key; the PIN is checked first under the policy
     * of `serverId`, exactly like an attestation's, so a wrong PIN counts.
     */
    'bio.register': {
      request: z.object({ serverId: serverIdSchema, pinProof: b64u32, publicJwk: publicJwkSchema }).strict(),
      response: z.union([z.object({ ok: z.literal(true) }), pinFailureSchema]),
    },
    /** Forgets the instance's biometric key (no PIN: it only takes a way in away). */
    'bio.remove': {
      request: z.object({}).strict(),
      response: z.object({ ok: z.literal(true), removed: z.boolean() }),
    },
    /** A fresh one-time nonce for the next `attest` with `method: 'bio'` (replaces an unused one). */
    'bio.challenge': {
      request: z.object({}).strict(),
      response: z.object({ nonce: b64u32, expiresAt: z.number().int() }),
    },
  },
  pushes: {},
});

export type SfsMobileMessages = typeof sfsMobileMessages;

const bioDomain = 'nextauth-bio-attest/1';

/**
 * What the biometric key signs for a bio attestation: a domain tag and the length-prefixed UTF-8 of the SFS
 * nonce, the NS server id and the attestation challenge. One function for the SDK and the SFS; the tag keeps
 * the signature from meaning anything in another protocol.
 */
export function bioSignedData(input: { nonce: string; serverId: string; challenge: string }): Bytes {
  const field = (text: string) => {
    const bytes = utf8(text);
    return concat(u32be(bytes.length), bytes);
  };
  return concat(field(bioDomain), field(input.nonce), field(input.serverId), field(input.challenge));
}
