// An NS account: one phone key (and the SFS app instance behind it) enrolled for a userid on a virtual server.
import { z } from 'zod';
import type { PublicJwk } from '../../../protocol/index.js';
import { publicJwkSchema } from '../../../protocol/mobile/common.js';

/** nextAuth userids are opaque to NS: any non-empty string the integrator uses, capped for storage. */
export const useridSchema = z.string().min(1).max(255);

/** Enrol links live at most 15 minutes: a QR on a screen or in a mail is easily seen by others. */
export const maxEnrolTtlSeconds = 900;
export const defaultEnrolTtlSeconds = 600;
export const enrolTtlSchema = z.number().int().min(30).max(maxEnrolTtlSeconds);

export const storedJwkSchema = publicJwkSchema;

export interface Account {
  id: string;
  serverId: string;
  userid: string;
  publicJwk: PublicJwk;
  keyThumbprint: string;
  /** Attestation `sub`: logins must be attested for this app instance. */
  appInstanceId: string;
  sfsIssuer: string;
  description: string | null;
  clientVersion: string | null;
  createdAt: Date;
  lastLoginAt: Date | null;
  /** When the account last answered a push login; null until push login exists. */
  lastPushAt: Date | null;
  blockedAt: Date | null;
}

export interface EnrolToken {
  tokenHash: string;
  serverId: string;
  userid: string;
  /** nextAuth `announceinfo`: the integrator's text for the app to keep with the new account. */
  announceInfo: string | null;
  createdAt: Date;
  expiresAt: Date;
  usedAt: Date | null;
  /** The account a used token created (null for tokens used before it was recorded, or unused). */
  accountId?: string | null;
}

/** What the phone may call itself at enrolment, and what an administrator may set later (column width). */
export const maxDescriptionLength = 100;
export const accountDescriptionSchema = z.string().trim().min(1).max(maxDescriptionLength);

/** Account ids are base64url of 16 random bytes; the column holds 32. */
export const accountIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'not an account id');

/** An administrator's change (nextAuth `updateAccountUser`): given members change. */
export const accountPatchSchema = z
  .strictObject({
    userid: useridSchema.optional().describe('move the account (the phone) to this userid'),
    description: accountDescriptionSchema.nullable().optional().describe('null removes it'),
  })
  .refine((p) => p.userid !== undefined || p.description !== undefined, 'nothing to change');
export type AccountPatch = z.output<typeof accountPatchSchema>;

export interface AccountFilter {
  userid?: string;
  /** true: only blocked accounts; false: only usable ones. */
  blocked?: boolean;
}

export interface AccountQuery extends AccountFilter {
  /** 1–1000, default 100. */
  limit?: number;
  marker?: string;
}

export interface AccountPage {
  accounts: Account[];
  /** null on the last page. */
  nextMarker: string | null;
}

export const maxAccountPageSize = 1000;
export const defaultAccountPageSize = 100;
