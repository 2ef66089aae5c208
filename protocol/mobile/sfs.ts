// Messages on the SFS secure channel (`/sfs/mobile`, target kind `sfs`): the client key is the app-instance key.
import { z } from 'zod';
import { defineMessages } from '../messages.js';
import { b64u32, pinFailureSchema, serverIdSchema } from './common.js';

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
    /** Verifies the PIN for an NS server and returns an attestation bound to `challenge` (DESIGN.md §4). */
    attest: {
      request: z
        .object({ serverId: serverIdSchema, challenge: b64u32, method: z.literal('pin'), pinProof: b64u32 })
        .strict(),
      response: z.union([
        z.object({ ok: z.literal(true), attestation: z.string().max(4096), expiresAt: z.number().int() }),
        pinFailureSchema,
      ]),
    },
  },
  pushes: {},
});

export type SfsMobileMessages = typeof sfsMobileMessages;
