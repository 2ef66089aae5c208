// SdkError and its stable codes: every failure of an SDK flow or facade call ends as exactly one of them.
import { ChannelError, MessageError } from '../../protocol/index.js';

export const sdkErrorCodes = [
  'invalid_uri', // the scanned enrol / login URI is not one of ours
  'invalid_input', // an answer that does not fit the asked interaction (or a malformed PIN)
  'not_initialised', // no verified SDK configuration yet (`init` first)
  'config_invalid', // the SDK configuration does not verify or does not parse
  'flow_active', // another flow is still running: one at a time
  'cancelled', // the flow was cancelled by the app (or its driver gave up)
  'account_not_found', // no account on this device for the server a login URI names
  'bad_server_key', // the server's key is neither the pinned one nor a valid successor of it
  'unreachable', // the WebSocket could not be opened
  'channel_failed', // the secure channel failed after opening (details.reason: the channel error code)
  'rejected', // the server refused a request (details.reason: its message error code)
  'pin_invalid', // wrong PIN; details.attemptsLeft says how many remain
  'pin_locked', // too many wrong PINs; details.retryAfterSeconds
  'pin_blocked', // PIN blocked for good at this server
  'expired', // the enrolment or login expired before it was completed
  'bio_unavailable', // no biometric sensor, or no biometric enrolled on the device
  'bio_not_enrolled', // this device has no (valid) biometric key: ADD_BIOMETRICS first
  'bio_failed', // the biometric prompt did not match (or was cancelled) where no PIN fallback applies
  'bad_transaction', // the server's transaction does not check out (template hash, rendering, ids)
  'storage', // the key store or storage port failed
  'internal', // a local bug
] as const;

export type SdkErrorCode = (typeof sdkErrorCodes)[number];

export interface SdkErrorDetails {
  attemptsLeft?: number;
  retryAfterSeconds?: number;
  /** The channel error code (channel_failed) or the server's message error code (rejected). */
  reason?: string;
}

/** The short human suffix a CLI or app shows after the code, e.g. `pin_invalid (2 attempts left)`. */
function describe(code: SdkErrorCode, details: SdkErrorDetails, message?: string): string {
  if (code === 'pin_invalid' && details.attemptsLeft !== undefined) {
    const n = details.attemptsLeft;
    return `${code} (${n} attempt${n === 1 ? '' : 's'} left)`;
  }
  if (code === 'pin_locked' && details.retryAfterSeconds !== undefined)
    return `${code} (try again in ${details.retryAfterSeconds} s)`;
  const parts = [details.reason, message].filter((p): p is string => p !== undefined && p !== '');
  return parts.length > 0 ? `${code}: ${parts.join(': ')}` : code;
}

export class SdkError extends Error {
  override readonly name = 'SdkError';
  readonly details: SdkErrorDetails;

  constructor(
    readonly code: SdkErrorCode,
    message?: string,
    details: SdkErrorDetails = {},
    options?: { cause?: unknown },
  ) {
    super(describe(code, details, message), options?.cause === undefined ? undefined : options);
    this.details = details;
  }
}

/**
 * Maps whatever a flow step threw to an SdkError: channel failures keep their code as `reason` (a pinned-key
 * mismatch is its own code, the user must see it), server refusals keep the server's code.
 */
export function toSdkError(err: unknown): SdkError {
  if (err instanceof SdkError) return err;
  if (err instanceof ChannelError) {
    if (err.code === 'bad_server_key' || err.code === 'bad_succession')
      return new SdkError(
        'bad_server_key',
        'the server key does not match the pinned key',
        {},
        { cause: err },
      );
    return new SdkError('channel_failed', undefined, { reason: err.code }, { cause: err });
  }
  if (err instanceof MessageError) {
    if (err.code === 'pin_blocked') return new SdkError('pin_blocked', undefined, {}, { cause: err });
    // MessageError's message is "code: text"; keep only the text, the code goes to `reason`.
    const prefix = `${err.code}: `;
    const text = err.message.startsWith(prefix) ? err.message.slice(prefix.length) : undefined;
    return new SdkError('rejected', text, { reason: err.code }, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new SdkError('internal', message, {}, { cause: err });
}
