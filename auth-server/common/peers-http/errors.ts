// Errors of a peer call. A domain error with a stable `code` (McError, SfsError, …) crosses HTTP as problem
// JSON and comes back as a PeerError with the same `code`, so callers check `err.code` in both modes.

/** Codes the transport itself produces. */
export type PeerTransportCode =
  | 'unauthorized'
  | 'invalid_body'
  | 'body_too_large'
  | 'not_found'
  | 'internal'
  | 'unavailable'
  | 'bad_response';

export class PeerError extends Error {
  override name = 'PeerError';
  constructor(
    /** The domain code (e.g. `mailbox_full`) or a transport code. */
    readonly code: string,
    message: string,
    /** HTTP status of the answer; undefined when none came (timeout, refused connection). */
    readonly status?: number,
  ) {
    super(message);
  }
}

/** Lower-case snake codes are domain codes; driver codes (`ECONNRESET`, `23505`, `SQLITE_BUSY`) are not. */
export const domainCodePattern = /^[a-z][a-z0-9_]{0,63}$/;

/** The stable `code` of an error thrown by a peer implementation, if it carries one that may travel. */
export function domainCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && domainCodePattern.test(code) ? code : undefined;
}
