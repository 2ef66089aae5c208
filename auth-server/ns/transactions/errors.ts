// Typed failures of transaction signing with a stable code each; REST maps them to problem JSON, the phone's
// channel to MessageError codes of the same name.

export type TransactionErrorCode =
  /** No such transaction (or not one this caller may see or answer). */
  | 'unknown_transaction'
  /** The transaction was answered already (approved or declined): one answer only. */
  | 'transaction_answered'
  | 'transaction_expired'
  /** The type is neither built in nor registered at the server. */
  | 'unknown_type'
  /** A template placeholder has no value, or a value is not text (amounts are decimal strings). */
  | 'invalid_values'
  /** The account key's signature does not verify over the transaction data. */
  | 'signature_invalid'
  /** The server's policy asks for the PIN and the attestation says biometrics. */
  | 'pin_required'
  /** The built-in types cannot be replaced. */
  | 'builtin_type'
  /** No receipt: the transaction was not approved. */
  | 'no_receipt'
  /** An account it would go to received the policy's number of transactions this minute. */
  | 'transaction_rate_limited'
  /** An account it would go to has the policy's number of transactions open. */
  | 'too_many_open_transactions';

const messages: Record<TransactionErrorCode, string> = {
  unknown_transaction: 'No such transaction',
  transaction_answered: 'The transaction was answered already',
  transaction_expired: 'The transaction has expired',
  unknown_type: 'No such transaction type at this server',
  invalid_values: 'The values do not fit the template',
  signature_invalid: 'The signature over the transaction does not verify',
  pin_required: 'This server asks for the PIN to approve transactions',
  builtin_type: 'Built-in transaction types cannot be changed',
  no_receipt: 'Only an approved transaction has a receipt',
  transaction_rate_limited: 'Too many transactions for this account; try again in a minute',
  too_many_open_transactions: 'Too many transactions for this account are waiting for an answer',
};

export class TransactionError extends Error {
  override name = 'TransactionError';
  constructor(
    readonly code: TransactionErrorCode,
    detail?: string,
    /** For the rate limits: seconds until another transaction may be created. */
    readonly retryAfterSeconds?: number,
  ) {
    super(detail ?? messages[code]);
  }
}
