// ChannelError and its stable error codes (docs/protocol.md §10): every failure closes the channel with one code.

export const channelErrorCodes = [
  'bad_server_key', // server key neither pinned nor reachable from a pinned key by succession
  'bad_client_key', // client key refused by the server (unknown account, anonymous not allowed)
  'bad_signature', // handshake identity signature does not verify over the transcript
  'bad_mac', // handshake MAC (finished) does not verify
  'decrypt_failed', // AES-GCM tag check failed (tampered, truncated or misdirected record)
  'replay', // record sequence number lower than expected
  'out_of_order', // record sequence number higher than expected (reordered or dropped record)
  'reflection', // a frame type only this side sends came back
  'frame_too_large', // frame larger than the negotiated maximum
  'malformed', // frame or message cannot be parsed
  'unexpected_message', // valid frame at the wrong time in the state machine
  'version_mismatch', // no protocol version in common
  'unsupported_suite', // no cipher suite in common
  'downgrade', // the server did not pick the best version/suite both sides support
  'bad_succession', // a key succession record or chain is invalid
  'unknown_target', // the server has no virtual server / SFS / MC by that name
  'timeout', // handshake, idle or request timeout
  'key_exhausted', // record limit per key reached: reconnect
  'closed', // the transport closed (without an authenticated close record: possible truncation)
  'internal', // a local bug or crypto failure
] as const;

export type ChannelErrorCode = (typeof channelErrorCodes)[number];

export function isChannelErrorCode(value: unknown): value is ChannelErrorCode {
  return typeof value === 'string' && (channelErrorCodes as readonly string[]).includes(value);
}

/** WebSocket close code for a protocol failure (reason = the error code); 1000 for a normal close. */
export const CLOSE_PROTOCOL_ERROR = 4400;
export const CLOSE_NORMAL = 1000;

export class ChannelError extends Error {
  override readonly name = 'ChannelError';
  readonly code: ChannelErrorCode;
  /** true when the peer reported the error (alert or close record), false when detected locally. */
  readonly remote: boolean;

  constructor(code: ChannelErrorCode, message?: string, options?: { remote?: boolean; cause?: unknown }) {
    super(
      message ? `${code}: ${message}` : code,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.code = code;
    this.remote = options?.remote ?? false;
  }
}

/** Wraps anything thrown into a ChannelError (unknown errors become `internal`). */
export function asChannelError(err: unknown): ChannelError {
  if (err instanceof ChannelError) return err;
  return new ChannelError('internal', err instanceof Error ? err.message : String(err), { cause: err });
}
