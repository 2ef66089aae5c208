// What NS seals into MC messages for an app instance (docs/protocol.md §17.1): the plaintext of
// `sealMcMessage`, JSON. The device parses it after opening; anything else is shown as an unknown message.
import { z } from 'zod';
import { infoTextSchema, serverIdSchema } from './common.js';
import { mcMessageIdSchema } from './mc.js';

/** The virtual server a message is about: the device finds its local account by `nsUrl` + `name`. */
const messageServer = z
  .object({
    id: serverIdSchema,
    name: z.string().min(1).max(63),
    displayName: z.string().max(200),
    nsUrl: z.string().url().max(200),
  })
  .strict();

/** A push login: open the NS channel with `account`'s key and send `login.push` with `code`. */
export const pushLoginPayloadSchema = z
  .object({
    v: z.literal(1),
    type: z.literal('login'),
    /** The push request id (also the MC message id). */
    id: mcMessageIdSchema,
    server: messageServer,
    /** The NS account the request is for. */
    account: z.string().min(1).max(64),
    userid: z.string().min(1).max(255),
    /** One-time code that `login.push` redeems (never the browser's nonce). */
    code: z.string().regex(/^[A-Za-z0-9_-]{22}$/),
    info: infoTextSchema.nullable(),
    browser: z
      .object({
        userAgent: z.string().max(512).nullable(),
        ip: z.string().max(64).nullable(),
        location: z.string().max(120).nullable(),
      })
      .strict(),
    /** Epoch milliseconds. */
    expiresAt: z.number().int().positive(),
  })
  .strict();
export type PushLoginPayload = z.output<typeof pushLoginPayloadSchema>;

/** A login of this account ended at the server (REST logout, the page's logout, the IdP session's end). */
export const logoutPayloadSchema = z
  .object({
    v: z.literal(1),
    type: z.literal('logout'),
    server: messageServer,
    account: z.string().min(1).max(64),
    userid: z.string().min(1).max(255),
    /** The login's random handle (nextAuth `hsid`), when it had one. */
    hsid: z.string().max(64).nullable(),
    /** Epoch milliseconds of the logout. */
    at: z.number().int().positive(),
  })
  .strict();
export type LogoutPayload = z.output<typeof logoutPayloadSchema>;

/**
 * A transaction to sign: open the NS channel with `account`'s key and fetch it with `transaction.get` (the
 * data and template stay out of the message: the MC caps its size, and NS's answer is the one signed).
 */
export const transactionPayloadSchema = z
  .object({
    v: z.literal(1),
    type: z.literal('transaction'),
    /** The MC message id; the transaction id too unless `tid` says otherwise. */
    id: mcMessageIdSchema,
    /**
     * The transaction id when it is not `id`: a transaction for several phones of one user goes out as one
     * message each, and message ids are unique at the MC.
     */
    tid: mcMessageIdSchema.optional(),
    server: messageServer,
    account: z.string().min(1).max(64),
    userid: z.string().min(1).max(255),
    /** Epoch milliseconds. */
    expiresAt: z.number().int().positive(),
  })
  .strict();
export type TransactionPayload = z.output<typeof transactionPayloadSchema>;

/** The id of the transaction a message names (what `transaction.get` and the signed data carry). */
export function transactionIdOf(payload: TransactionPayload): string {
  return payload.tid ?? payload.id;
}

export const appMessagePayloadSchema = z.discriminatedUnion('type', [
  pushLoginPayloadSchema,
  logoutPayloadSchema,
  transactionPayloadSchema,
]);
export type AppMessagePayload = z.output<typeof appMessagePayloadSchema>;

/** The payload, or undefined when it is not one of ours (an older or newer sender's message). */
export function parseAppMessage(plaintext: string): AppMessagePayload | undefined {
  try {
    const parsed = appMessagePayloadSchema.safeParse(JSON.parse(plaintext));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** The 2-digit number the browser shows and the user types on the phone (number matching). */
export const matchNumberSchema = z.number().int().min(10).max(99);
