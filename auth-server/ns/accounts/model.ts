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
}
