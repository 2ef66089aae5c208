// Typed failures of push login with a stable code each; REST maps them to problem JSON, the phone's
// channel to MessageError codes of the same name.

export type PushErrorCode =
  /** The account (or every account of the user) has no app instance registered at the MC. */
  | 'push_unavailable'
  /** Pushes to the account are blocked for now (a recent "not me", server policy). */
  | 'push_blocked'
  /** The account received the policy's number of pushes this minute. */
  | 'push_rate_limited'
  /** The API key provoked the policy's number of pushes for this user this minute. */
  | 'client_push_rate_limited'
  /** The account has the policy's number of push requests open. */
  | 'too_many_open_pushes'
  /** The MC did not take the message. */
  | 'push_failed'
  /** No open push request with that id and code for this account (unknown, used or expired). */
  | 'unknown_push'
  /** The typed number is not the one the browser shows. */
  | 'wrong_match'
  /** Approving a push login needs the number from the browser. */
  | 'match_required'
  /** No account of that user (or that id) on the server can receive pushes. */
  | 'no_account';

const messages: Record<PushErrorCode, string> = {
  push_unavailable: 'The account has no app registered for push messages',
  push_blocked: 'Push logins to this account are blocked for now',
  push_rate_limited: 'Too many push logins to this account; try again in a minute',
  client_push_rate_limited: 'Too many push logins for this user from this API key; try again in a minute',
  too_many_open_pushes: 'Too many push logins to this account are waiting for an answer',
  push_failed: 'The push message could not be delivered',
  unknown_push: 'No such open push login',
  wrong_match: 'The number does not match the one shown in the browser',
  match_required: 'Type the number shown in the browser to approve',
  no_account: 'No account can receive this push login',
};

export class PushError extends Error {
  override name = 'PushError';
  constructor(
    readonly code: PushErrorCode,
    detail?: string,
    /** For the rate limits: seconds until the next push may go. */
    readonly retryAfterSeconds?: number,
  ) {
    super(detail ?? messages[code]);
  }
}
