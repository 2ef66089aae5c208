// Typed failures of session operations with a stable code each; the HTTP layer maps them to problems.

export type SessionErrorCode =
  /** No session for this nonce or id. */
  | 'unknown_session'
  /** The session ran out before the operation. */
  | 'session_expired'
  /** The session is not in a state that allows the operation (e.g. approving a declined login). */
  | 'invalid_state'
  /** No such login code (never issued, or mistyped). */
  | 'unknown_code'
  /** The login code's validity window has passed. */
  | 'code_expired'
  /** The login code was already redeemed. */
  | 'code_used';

const messages: Record<SessionErrorCode, string> = {
  unknown_session: 'No such session',
  session_expired: 'The login session has expired',
  invalid_state: 'The login session does not allow this now',
  unknown_code: 'Unknown login code',
  code_expired: 'The login code has expired; scan the current QR code',
  code_used: 'The login code was already used',
};

export class SessionError extends Error {
  override name = 'SessionError';
  constructor(
    readonly code: SessionErrorCode,
    detail?: string,
  ) {
    super(detail ?? messages[code]);
  }
}
