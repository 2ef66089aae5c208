// An account of this device at one NS virtual server: who, where, which key, and the pinned server key.
import { z } from 'zod';

const thumbprintSchema = z.string().regex(/^[A-Za-z0-9_-]{43}$/);

export const accountServerSchema = z
  .object({
    /** Global id `{NS URL}/ns/{name}` (the attestation audience). */
    id: z.string().min(1).max(200),
    name: z.string().min(1).max(63),
    displayName: z.string().max(200),
    /** NS public URL from the enrol URI; login URIs name the same URL. */
    nsUrl: z.string().url(),
    /** RFC 7638 thumbprint of the server key the enrolment channel was signed with: pinned for logins. */
    keyThumbprint: thumbprintSchema,
  })
  .strict();

export const accountSchema = z
  .object({
    /** Local id on this device (random). */
    id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
    /** The NS's id of the account (from `enrol.complete`). */
    nsAccountId: z.string().max(200),
    server: accountServerSchema,
    userid: z.string().max(200),
    /** The integrator's text for this account from the enrolment (nextAuth announceinfo), e.g. a full name. */
    info: z.string().max(200).nullable().optional(),
    /** Alias of the account key in the KeyStore (the private key never leaves it). */
    accountKeyAlias: z.string().min(1).max(128),
    /** Thumbprint of the account key: what NS knows the account by. */
    accountKeyThumbprint: thumbprintSchema,
    /**
     * HEADLESS_UPGRADE in progress: the next account key, made before NS was asked to switch, so a retry
     * after an interruption offers NS the same key (NS may have switched already).
     */
    pendingKeyAlias: z.string().min(1).max(128).optional(),
    createdAt: z.number().int(),
    lastLoginAt: z.number().int().nullable(),
  })
  .strict();

export type Account = z.output<typeof accountSchema>;
export type AccountServer = z.output<typeof accountServerSchema>;

/** Public URLs compare without trailing slashes: `https://id.example/` and `https://id.example` are one NS. */
export function sameNsUrl(a: string, b: string): boolean {
  return a.replace(/\/+$/, '') === b.replace(/\/+$/, '');
}
