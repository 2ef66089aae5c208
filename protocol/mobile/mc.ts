// Messages on the MC secure channel (`/mc/mobile`, target kind `mc`): the client key is the app-instance key.
import { z } from 'zod';
import { defineMessages } from '../messages.js';
import { publicJwkSchema } from './common.js';
import { sfsIssuerFromEndpoint, sfsTargetId } from './sfs-target.js';

/** Largest sealed message MC accepts (docs/mc.md): several fit one 64 KiB frame of a pull answer. */
export const MAX_SEALED_MESSAGE_BYTES = 8192;
/** Messages one pull answer carries at most. */
export const MAX_PULL_MESSAGES = 50;

/** Mailbox message ids: 16 random bytes, base64url. */
export const mcMessageIdSchema = z.string().regex(/^[A-Za-z0-9_-]{22}$/, 'expected a message id');

/** Opaque position in an instance's mailbox: messages after it are newer. */
export const mcCursorSchema = z.string().regex(/^[0-9]{1,16}$/);

export const pushProviders = ['fcm', 'apns', 'none'] as const;
export type PushProvider = (typeof pushProviders)[number];

/**
 * The platform's push registration. `none`: the app relies on pull and the subscription (a de-Googled
 * device, the Node virtual phone). A token is a secret of the device: MC stores it sealed, never logs it.
 */
export const pushRegistrationSchema = z.discriminatedUnion('provider', [
  z.object({ provider: z.literal('none') }).strict(),
  z
    .object({
      provider: z.enum(['fcm', 'apns']),
      token: z
        .string()
        .min(1)
        .max(4096)
        .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces'),
    })
    .strict(),
]);
export type PushRegistration = z.output<typeof pushRegistrationSchema>;

/** One message as the mailbox holds it: MC sees only `sealed` (protocol/mobile/mc-seal.ts). */
export const mcMessageSchema = z.object({
  id: mcMessageIdSchema,
  /** Position in the mailbox (pass as `after` to continue a pull). */
  cursor: mcCursorSchema,
  /** Epoch milliseconds. */
  createdAt: z.number().int(),
  expiresAt: z.number().int(),
  sealed: z.string().max(MAX_SEALED_MESSAGE_BYTES),
});
export type McMessage = z.output<typeof mcMessageSchema>;

export const mcMobileMessages = defineMessages({
  requests: {
    /**
     * Registers the channel's client key as an app instance (idempotent) with the key that messages are
     * encrypted for (ECDH P-256, separate from the signing key) and its push registration; a repeated
     * call replaces both.
     */
    'instance.register': {
      request: z.object({ encryptionKey: publicJwkSchema, push: pushRegistrationSchema }).strict(),
      response: z.object({ instanceId: z.string() }),
    },
    /** Unacknowledged, unexpired messages after `after` (all of them without it), oldest first. */
    'mailbox.pull': {
      request: z
        .object({
          after: mcCursorSchema.optional(),
          limit: z.number().int().min(1).max(MAX_PULL_MESSAGES).optional(),
        })
        .strict(),
      response: z.object({ messages: z.array(mcMessageSchema), more: z.boolean() }),
    },
    /** Removes handled messages; ids of other instances or already acked ones are ignored. */
    'mailbox.ack': {
      request: z.object({ ids: z.array(mcMessageIdSchema).min(1).max(MAX_PULL_MESSAGES) }).strict(),
      response: z.object({ acked: z.number().int().min(0) }),
    },
    /**
     * Keeps this channel open as the mailbox's live transport: what is pending after `after` is pushed at
     * once, then every new message as it is posted (on any MC instance), as `mailbox.message`.
     */
    'mailbox.subscribe': {
      request: z.object({ after: mcCursorSchema.optional() }).strict(),
      response: z.object({ ok: z.literal(true) }),
    },
  },
  pushes: {
    'mailbox.message': mcMessageSchema,
  },
});

export type McMobileMessages = typeof mcMobileMessages;

/** The MC's channel target id, derived from its base URL `{PUBLIC_URL}/mc` exactly as the SFS's. */
export function mcTargetId(mcUrl: string): Promise<string> {
  return sfsTargetId(mcUrl);
}

/** `ws(s)://host/mc/mobile` → `http(s)://host/mc`: the base URL the target id is derived from. */
export function mcUrlFromEndpoint(endpointUrl: string): string {
  return sfsIssuerFromEndpoint(endpointUrl);
}
