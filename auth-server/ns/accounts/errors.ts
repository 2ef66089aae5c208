// Typed failures of enrolment and account operations, named after the codes the phone and REST clients see.

export type AccountErrorCode =
  /** No enrol token with this value on this server (never issued, mistyped, or for another server). */
  | 'enrol_token_unknown'
  | 'enrol_token_used'
  | 'enrol_token_expired'
  /** The account key is already enrolled on this server. */
  | 'account_key_exists'
  | 'account_unknown'
  | 'account_blocked'
  /** The server lists allowed apps and the phone's app is not one of them. */
  | 'app_not_allowed'
  /** An account key rotation whose old- or new-key signature does not verify for this channel. */
  | 'bad_signature';

const messages: Record<AccountErrorCode, string> = {
  enrol_token_unknown: 'Unknown enrol token',
  enrol_token_used: 'The enrol link was already used',
  enrol_token_expired: 'The enrol link has expired; ask for a new one',
  account_key_exists: 'This key is already enrolled',
  account_unknown: 'No such account',
  account_blocked: 'The account is blocked',
  app_not_allowed: 'This server does not accept this app',
  bad_signature: 'The key rotation is not signed by the account key and the new key',
};

export class AccountError extends Error {
  override name = 'AccountError';
  constructor(
    readonly code: AccountErrorCode,
    detail?: string,
  ) {
    super(detail ?? messages[code]);
  }
}
