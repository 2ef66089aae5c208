// An NS login session (identified by its nonce) and the LoginStatus integrators read, after nextAuth REST v2.
import { z } from 'zod';

export const sessionStates = ['waiting', 'scanned', 'loggedin', 'declined', 'expired', 'loggedout'] as const;
export const sessionStateSchema = z.enum(sessionStates);
export type SessionState = z.output<typeof sessionStateSchema>;

/** States from which the phone may still approve or decline. */
export const pendingStates: readonly SessionState[] = ['waiting', 'scanned'];
/** States that end the session for good: the SSE stream closes on them. */
export const finalStates: readonly SessionState[] = ['loggedin', 'declined', 'expired', 'loggedout'];

/**
 * Why a login ended declined: the phone's plain no, its "I did not start this login", or `locked` — the
 * scanning phone's PIN was locked (or blocked) at the SFS meanwhile, so this login cannot be confirmed.
 */
export const declineReasons = ['declined', 'not_me', 'locked'] as const;
export const declineReasonSchema = z.enum(declineReasons);
export type DeclineReason = z.output<typeof declineReasonSchema>;

/** How the phone confirmed a login: the SFS attestation's `method` (PIN, or the biometric key). */
export const authMethods = ['pin', 'bio'] as const;
export const authMethodSchema = z.enum(authMethods);
export type AuthMethod = z.output<typeof authMethodSchema>;

export interface Session {
  id: string;
  serverId: string;
  serverName: string;
  /** As stored; see `effectiveState` for what it means at a given time. */
  state: SessionState;
  userid: string | null;
  accountId: string | null;
  /** Random handle of this login (nextAuth `hsid`), set when the session becomes `loggedin`. */
  hsid: string | null;
  userAgent: string;
  ip: string;
  /** nextAuth `sessioninfo`: the integrator's text for this login, shown on the phone. */
  info: string | null;
  /** Set when the phone declined (null for sessions declined before the reason was stored). */
  declineReason: DeclineReason | null;
  /** The account whose phone scanned it (null before the scan). */
  scanAccountId: string | null;
  /** Set when `loggedin`: how the phone confirmed (null for logins stored before it was kept). */
  authMethod: AuthMethod | null;
  createdAt: Date;
  expiresAt: Date;
  loggedInAt: Date | null;
  updatedAt: Date;
}

/**
 * The state at `now`: a session past its expiry reads as `expired` whatever was stored, so expiry needs no
 * background writer (a sweep may still store it later).
 */
export function effectiveState(session: Pick<Session, 'state' | 'expiresAt'>, now: number): SessionState {
  if (session.state === 'declined' || session.state === 'loggedout') return session.state;
  return now >= session.expiresAt.getTime() ? 'expired' : session.state;
}

/** nextAuth `LoginStatus`: `loggedin` plus who, and (ours) the state machine's position and expiry. */
export interface LoginStatus {
  loggedin: boolean;
  state: SessionState;
  server: string;
  expiresAt: string;
  userid?: string;
  accountid?: string;
  hsid?: string;
  /** Only while declined: `not_me` when the phone reported a login its user did not start. */
  declineReason?: DeclineReason;
}

export function toLoginStatus(session: Session, now: number): LoginStatus {
  const state = effectiveState(session, now);
  const status: LoginStatus = {
    loggedin: state === 'loggedin',
    state,
    server: session.serverName,
    expiresAt: session.expiresAt.toISOString(),
  };
  if (state === 'loggedin') {
    if (session.userid !== null) status.userid = session.userid;
    if (session.accountId !== null) status.accountid = session.accountId;
    if (session.hsid !== null) status.hsid = session.hsid;
  }
  if (state === 'declined' && session.declineReason !== null) status.declineReason = session.declineReason;
  return status;
}

/** What the phone side hands over when a login is approved (after attestation checks). */
export const loginApprovalSchema = z.strictObject({
  userid: z.string().min(1).max(255),
  accountId: z.string().min(1).max(64),
  /** Omitted: a fresh random handle is generated. */
  hsid: z
    .string()
    .regex(/^[A-Za-z0-9_-]{16,32}$/)
    .optional(),
  /** The attestation's method; omitted: `pin`. */
  method: authMethodSchema.optional(),
});
export type LoginApproval = z.input<typeof loginApprovalSchema>;

/** Browser context shown to the user on the phone; capped so a hostile client cannot bloat rows. */
export const sessionContextSchema = z.object({
  userAgent: z
    .string()
    .max(4096)
    .transform((s) => s.slice(0, 512)),
  ip: z.string().max(64),
});
