// The long-lived "returning user" cookie: set at a successful login, it lets that browser ask for a push to
// the account it logged in with. HMAC-tagged with a key derived from NEXTAUTH_SECRET_KEY and bound to the
// server, so a stranger can neither forge one nor name another account with it.
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/** About half a year: a browser someone logs in from now and then stays "known". */
export const returningUserMaxAgeSeconds = 180 * 86_400;

export function returningUserCookieName(server: string, secure: boolean): string {
  return `${secure ? '__Host-' : ''}nextauth_ns_${server}_known`;
}

export interface ReturningUserCookies {
  issue(server: string, accountId: string): string;
  /** The account the value names at `server`, or undefined for anything not issued by us for it. */
  verify(server: string, value: string | undefined): string | undefined;
}

export function createReturningUserCookies(secretKey: string): ReturningUserCookies {
  const key = Buffer.from(
    hkdfSync('sha256', secretKey, 'nextauth-ns', 'returning-user cookie v1', 32) as ArrayBuffer,
  );
  const tag = (server: string, accountId: string) =>
    createHmac('sha256', key).update(`${server}\0${accountId}`, 'utf8').digest('base64url');
  return {
    issue: (server, accountId) => `v1.${accountId}.${tag(server, accountId)}`,
    verify(server, value) {
      if (value === undefined || value.length > 128) return undefined;
      const match = /^v1\.([A-Za-z0-9_-]{1,64})\.([A-Za-z0-9_-]{43})$/.exec(value);
      if (!match) return undefined;
      const [, accountId = '', given = ''] = match;
      const expected = Buffer.from(tag(server, accountId), 'utf8');
      const presented = Buffer.from(given, 'utf8');
      return expected.length === presented.length && timingSafeEqual(expected, presented)
        ? accountId
        : undefined;
    },
  };
}
