// Messages on the NS secure channel (`/ns/mobile`, target kind `ns`, target id = virtual server name).
// Enrolment runs on an anonymous-client channel pinned to the server key fingerprint of the enrol QR; login
// runs on a channel authenticated with the account key.
import { z } from 'zod';
import { defineMessages } from '../messages.js';
import { b64u32, infoTextSchema, publicJwkSchema, serverIdSchema } from './common.js';
import { matchNumberSchema } from './mc-payloads.js';
import { pushKeyProofSchema } from './push-key.js';
import {
  templateTextSchema,
  transactionIdSchema,
  transactionSignatureSchema,
  transactionSignedDataSchema,
} from './transaction.js';

const serverInfo = z.object({
  /** Global id (`{NS URL}/ns/{name}`): attestation audience and the server's name at the SFS. */
  id: serverIdSchema,
  name: z.string(),
  displayName: z.string(),
});

const token = z.string().regex(/^[A-Za-z0-9_-]{22,128}$/);

/** What `login.scan` and `login.push` answer: the login's handle on this channel and what to show the user. */
const loginChallengeSchema = z.object({
  /** Opaque handle of this login for confirm/decline on this channel. */
  login: z.string(),
  server: serverInfo,
  userid: z.string(),
  /** The integrator's text for this login (nextAuth `sessioninfo`), e.g. "Sign in to Payroll". */
  info: infoTextSchema.nullable().optional(),
  browser: z.object({
    userAgent: z.string().max(512).nullable(),
    ip: z.string().max(64).nullable(),
    location: z.string().max(120).nullable(),
  }),
  expiresAt: z.number().int(),
});

export const nsMobileMessages = defineMessages({
  requests: {
    /** Looks at an enrol token without using it: who is being enrolled, on which server. */
    'enrol.begin': {
      request: z.object({ token }).strict(),
      response: z.object({
        server: serverInfo,
        userid: z.string(),
        /** The integrator's text for this account (nextAuth `announceinfo`), e.g. the user's full name. */
        info: infoTextSchema.nullable().optional(),
        expiresAt: z.number().int(),
      }),
    },
    /**
     * Binds the new account key: `attestation` is an SFS attestation with purpose `enrol` over this channel's
     * transcript hash and the thumbprint of `accountKey`. Uses the token up.
     */
    'enrol.complete': {
      request: z
        .object({
          token,
          accountKey: publicJwkSchema,
          attestation: z.string().max(4096),
          description: z.string().max(100).optional(),
          clientVersion: z.string().max(40).optional(),
          /** The signed SDK configuration the app runs with: servers that list allowed apps check it. */
          sdkConfig: z
            .string()
            .max(16 * 1024)
            .optional(),
          /** RFC 7638 thumbprint of the app-instance key that registers at the MC: where pushes go. */
          pushKey: b64u32.optional(),
          /** Required with pushKey: the instance key's signature over this channel (protocol/mobile/push-key.ts). */
          pushKeyProof: pushKeyProofSchema.optional(),
        })
        .strict(),
      response: z.object({ accountId: z.string(), userid: z.string(), server: serverInfo }),
    },
    /** The phone scanned a login QR: uses the login code up and returns what to show the user. */
    'login.scan': {
      request: z.object({ code: token }).strict(),
      response: loginChallengeSchema,
    },
    /**
     * A push login the app received through the MC: redeems the message's one-time code (as `login.scan`
     * redeems a login code) and answers the same. `match` is the number the user typed from the browser;
     * without it the login can only be declined. A wrong number is refused (`wrong_match`) and changes nothing.
     */
    'login.push': {
      request: z
        .object({
          request: z.string().regex(/^[A-Za-z0-9_-]{22}$/),
          code: z.string().regex(/^[A-Za-z0-9_-]{22}$/),
          match: matchNumberSchema.optional(),
        })
        .strict(),
      response: loginChallengeSchema,
    },
    /** Approves with an SFS attestation (purpose `login`) bound to this channel and the account key. */
    'login.confirm': {
      request: z
        .object({
          login: z.string().max(128),
          attestation: z.string().max(4096),
          /** As in `enrol.complete`: refreshes where this account's pushes go. */
          pushKey: b64u32.optional(),
          /** Required with pushKey: the instance key's signature over this channel (protocol/mobile/push-key.ts). */
          pushKeyProof: pushKeyProofSchema.optional(),
        })
        .strict(),
      response: z.object({ status: z.literal('loggedin') }),
    },
    /** Declines; `not_me` means the user did not start this login (recorded, may block the account). */
    'login.decline': {
      request: z.object({ login: z.string().max(128), reason: z.enum(['declined', 'not_me']) }).strict(),
      response: z.object({ status: z.literal('declined') }),
    },
    /**
     * A transaction waiting for this channel's account (user): what to show and sign. Changes nothing; the
     * phone checks `template` against the hash in `data` and renders it itself (protocol/mobile/transaction.ts).
     */
    'transaction.get': {
      request: z.object({ tid: transactionIdSchema }).strict(),
      response: z.object({
        data: transactionSignedDataSchema,
        /** The display template whose id and SHA-256 are in `data.template`. */
        template: templateTextSchema,
        /** Server policy: confirm with the PIN, never biometrics alone. */
        pinRequired: z.boolean(),
        expiresAt: z.number().int(),
      }),
    },
    /**
     * Approves: `signature` is the account key's over the JCS of `data`, `attestation` an SFS attestation
     * with purpose `transaction` bound to this channel and the SHA-256 of that JCS. Exactly one answer wins.
     */
    'transaction.confirm': {
      request: z
        .object({
          tid: transactionIdSchema,
          signature: transactionSignatureSchema,
          attestation: z.string().max(4096),
        })
        .strict(),
      response: z.object({ status: z.literal('approved') }),
    },
    /** Declines (no second factor: refusing needs no proof). */
    'transaction.decline': {
      request: z.object({ tid: transactionIdSchema }).strict(),
      response: z.object({ status: z.literal('declined') }),
    },
    /**
     * Deletes the channel's account at NS: the account key that authenticated the channel is the proof of
     * possession. The channel then refuses every further request; the key opens no new one.
     */
    'account.delete': {
      request: z.object({}).strict(),
      response: z.object({ status: z.literal('deleted'), accountId: z.string() }),
    },
    /**
     * Replaces the channel's account key by `newKey` (HEADLESS_UPGRADE): both keys sign
     * accountRotationSignedData(transcript hash, thumbprint of newKey). The channel then refuses everything.
     */
    'account.rotate': {
      request: z
        .object({
          newKey: publicJwkSchema,
          oldSignature: z.string().regex(/^[A-Za-z0-9_-]{86}$/),
          newSignature: z.string().regex(/^[A-Za-z0-9_-]{86}$/),
        })
        .strict(),
      response: z.object({ status: z.literal('rotated'), accountId: z.string() }),
    },
  },
  pushes: {},
});

export type NsMobileMessages = typeof nsMobileMessages;
