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

/** Polls `probe` until it gives a value: what the RP's receivers got (a ping, a logout token) arrives on its own. */
export async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
