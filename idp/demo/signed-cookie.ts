// The demo's cookies: a JSON value with an HMAC-SHA-256 tag (key derived from NEXTAUTH_SECRET_KEY), so the
// browser carries the flow state and the login without being able to change either. Not encrypted: what
// they hold (PKCE verifier, state, nonce, the ID token) is the browser's own.
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { z } from 'zod';

/** Cookie values are capped before any parsing (browsers keep about 4 KiB per cookie anyway). */
const maxCookieChars = 6000;

export interface CookieSigner {
  sign(value: unknown): string;
  /** The value when the tag is ours and it matches `schema`, else undefined. */
  open<T>(cookie: string | undefined, schema: z.ZodType<T>): T | undefined;
}

export function cookieSigner(secretKey: string, purpose: string): CookieSigner {
  const key = Buffer.from(hkdfSync('sha256', secretKey, 'nextauth-demo-cookies-v1', purpose, 32));
  const tag = (payload: string) => createHmac('sha256', key).update(payload).digest();
  return {
    sign(value) {
      const payload = Buffer.from(JSON.stringify(value)).toString('base64url');
      return `${payload}.${tag(payload).toString('base64url')}`;
    },
    open(cookie, schema) {
      if (cookie === undefined || cookie.length > maxCookieChars) return undefined;
      const [payload, mac, extra] = cookie.split('.');
      if (payload === undefined || mac === undefined || extra !== undefined) return undefined;
      const given = Buffer.from(mac, 'base64url');
      const expected = tag(payload);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
      try {
        const parsed = schema.safeParse(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')));
        return parsed.success ? parsed.data : undefined;
      } catch {
        return undefined;
      }
    },
  };
}
