// Typed rejection of an SDK configuration: one stable code per reason, after jose's error codes (CONVENTIONS.md 5).

export const sdkConfigErrorCodes = [
  /** Not a compact JWS, bad header member, unknown `crit`, payload not a valid configuration. */
  'malformed',
  /** `typ` is not `nextauth-sdk-config+jwt`: a JWS of another kind, however well signed. */
  'wrong_type',
  /** `alg` is not ES256 (e.g. `none`, HS256), or the signature does not verify with the named key. */
  'bad_signature',
  /** Signed by a key that is not among the trusted publisher keys. */
  'untrusted_publisher',
  /** `expiresAt` has passed. */
  'expired',
] as const;

export type SdkConfigErrorCode = (typeof sdkConfigErrorCodes)[number];

export class SdkConfigError extends Error {
  override readonly name = 'SdkConfigError';
  constructor(
    readonly code: SdkConfigErrorCode,
    message: string = code,
  ) {
    super(message);
  }
}
