// Typed failures of MC operations with a stable code each; the channel endpoint and the peer pass them on.

export type McErrorCode =
  /** Input failed validation (malformed key, push token, sealed message). */
  | 'invalid_request'
  | 'unknown_instance'
  /** The sealed message is above MAX_SEALED_MESSAGE_BYTES. */
  | 'message_too_large'
  /** The sealed header names another instance than the one it is posted to. */
  | 'wrong_recipient'
  /** Already expired, or an expiry beyond the longest allowed lifetime. */
  | 'invalid_expiry'
  /** The instance holds its limit of pending messages. */
  | 'mailbox_full'
  /** A message with this id exists already (a replayed post). */
  | 'duplicate_message';

const messages: Record<McErrorCode, string> = {
  invalid_request: 'The request is malformed',
  unknown_instance: 'Unknown app instance',
  message_too_large: 'The sealed message is too large',
  wrong_recipient: 'The sealed message is for another app instance',
  invalid_expiry: 'The message expiry is in the past or too far ahead',
  mailbox_full: 'The mailbox of this app instance is full',
  duplicate_message: 'A message with this id was posted before',
};

export class McError extends Error {
  override name = 'McError';
  constructor(
    readonly code: McErrorCode,
    detail?: string,
  ) {
    super(detail ?? messages[code]);
  }
}
