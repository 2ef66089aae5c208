// The QR payload of a login code: `nextauth://login?d=<base64url(JSON)>` (DESIGN.md §4).
import { z } from 'zod';

export const qrPayloadVersion = 1;

/** What the app reads from the QR: protocol version, NS base URL, virtual server name, login code. */
export const loginQrPayloadSchema = z.strictObject({
  v: z.literal(qrPayloadVersion),
  ns: z.url(),
  s: z.string().min(1).max(63),
  c: z.string().regex(/^[A-Za-z0-9_-]{22}$/),
});
export type LoginQrPayload = z.output<typeof loginQrPayloadSchema>;

export interface LoginCode {
  code: string;
  /** After this the code is refused (end of its window plus grace, never after the session). */
  expiresAt: Date;
  /** When the next code takes over: the page should fetch a new one by then. */
  refreshAt: Date;
  /** The login code's raw data (nextAuth getQrLogin without `img`). */
  qrData: LoginQrPayload;
  qrUri: string;
}

export function loginQrUri(payload: LoginQrPayload): string {
  const data = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
  return `nextauth://login?d=${data}`;
}

/** Parses a scanned URI back into its payload (the app side, and tests); throws on anything else. */
export function parseLoginQrUri(uri: string): LoginQrPayload {
  const prefix = 'nextauth://login?d=';
  if (!uri.startsWith(prefix)) throw new Error('not a nextauth login URI');
  const json: unknown = JSON.parse(Buffer.from(uri.slice(prefix.length), 'base64url').toString('utf8'));
  return loginQrPayloadSchema.parse(json);
}
