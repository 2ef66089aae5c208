// Why a SAML message was refused, as a stable code (never samlify's or xmldom's strings): the routes turn it
// into an error page (a request that cannot be trusted) or a SAML status to a registered ACS.

export type SamlErrorCode =
  /** Not XML we accept: malformed, a DOCTYPE, or not valid against the SAML schemas. */
  | 'malformed'
  /** Larger than the caps (Redirect inflate 256 KiB, POST body 1 MiB). */
  | 'too_large'
  /** The Issuer is no SP registered with this server. */
  | 'unknown_sp'
  /** A signature is required and missing, or does not verify, or covers something else than is used. */
  | 'bad_signature'
  /** Destination is not this server's endpoint. */
  | 'wrong_destination'
  /** The ACS URL (or index) is not in the SP's metadata. */
  | 'unknown_acs'
  /** IssueInstant outside the accepted window. */
  | 'stale'
  /** The request ID was seen before. */
  | 'replayed'
  /** A LogoutResponse whose InResponseTo names no LogoutRequest of ours awaiting this SP's answer. */
  | 'unexpected_response'
  /** The SP asked for something this IdP does not do (a binding, a NameID format). */
  | 'unsupported';

export class SamlError extends Error {
  /** Client errors only: what the page and the log may say. */
  readonly status: number;
  constructor(
    readonly code: SamlErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SamlError';
    this.status = code === 'too_large' ? 413 : 400;
  }
}

/** A samlify or xmldom failure (they throw plain strings and Errors) as one of ours. */
export function asSamlError(err: unknown, code: SamlErrorCode, message: string): SamlError {
  return err instanceof SamlError ? err : new SamlError(code, message);
}
