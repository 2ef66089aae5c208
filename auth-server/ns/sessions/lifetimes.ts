// How long sessions and login codes live; the waiting time itself is the server policy's loginTimeoutSeconds.

/** A new login code every 30 s (DESIGN.md §4): a photographed QR goes stale quickly. */
export const loginCodeRotationMs = 30_000;
/** A code stays redeemable this long after its window ends, so a scan just before rotation still works. */
export const loginCodeGraceMs = 15_000;
/** Lifetime of a `loggedin` NS session (integrators poll getSession; the IdP keeps its own session). */
export const loggedInSessionMs = 8 * 60 * 60 * 1000;
