// Relying-party side helpers shared by the system tests that drive the IdP with openid-client.

/** openid-client's error for an OAuth error response, as its `error` code; throws if the attempt succeeds. */
export async function oauthError(attempt: Promise<unknown>): Promise<string> {
  try {
    await attempt;
  } catch (err) {
    return String((err as { error?: unknown }).error ?? (err as Error).message);
  }
  throw new Error('expected an OAuth error');
}
