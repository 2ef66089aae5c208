// The URIs a phone scans: `nextauth://enrol?d=…`, `nextauth://login?d=…` and `nextauth://transaction?d=…`,
// with `d` = base64url(JSON).
import { z } from 'zod';
import { b64u, fromB64u, fromUtf8, utf8 } from '../encoding.js';

export const enrolUriDataSchema = z
  .object({
    v: z.literal(1),
    /** NS public URL (the phone connects to `{ns}/ns/mobile`). */
    ns: z.string().url(),
    /** Virtual server name. */
    s: z.string().min(1).max(63),
    /** RFC 7638 thumbprint of the server key, pinned by the anonymous enrolment channel. */
    fp: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
    /** One-time enrol token. */
    t: z.string().regex(/^[A-Za-z0-9_-]{22,128}$/),
  })
  .strict();
export type EnrolUriData = z.output<typeof enrolUriDataSchema>;

export const loginUriDataSchema = z
  .object({
    v: z.literal(1),
    ns: z.string().url(),
    s: z.string().min(1).max(63),
    /** Rotating one-time login code (never the session nonce). */
    c: z.string().regex(/^[A-Za-z0-9_-]{22,128}$/),
  })
  .strict();
export type LoginUriData = z.output<typeof loginUriDataSchema>;

/**
 * A transaction to sign, shown as a QR instead of (or besides) a push. Only ids: the phone fetches what to
 * show and sign on its account channel, and only an account of the transaction's user gets it.
 */
export const transactionUriDataSchema = z
  .object({
    v: z.literal(1),
    ns: z.string().url(),
    s: z.string().min(1).max(63),
    /** The transaction id. */
    t: z.string().regex(/^[A-Za-z0-9_-]{22}$/),
  })
  .strict();
export type TransactionUriData = z.output<typeof transactionUriDataSchema>;

const maxUriLength = 2048;

type UriKind = 'enrol' | 'login' | 'transaction';

function encode(kind: UriKind, data: object): string {
  return `nextauth://${kind}?d=${b64u(utf8(JSON.stringify(data)))}`;
}

function decode<S extends z.ZodType>(kind: UriKind, uri: string, schema: S): z.output<S> {
  if (uri.length > maxUriLength) throw new TypeError('URI too long');
  const prefix = `nextauth://${kind}?d=`;
  if (!uri.startsWith(prefix)) throw new TypeError(`not a nextauth ${kind} URI`);
  let json: unknown;
  try {
    json = JSON.parse(fromUtf8(fromB64u(uri.slice(prefix.length))));
  } catch {
    throw new TypeError(`malformed ${kind} URI`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new TypeError(`malformed ${kind} URI: ${parsed.error.issues[0]?.message ?? ''}`);
  return parsed.data;
}

export const enrolUri = (data: EnrolUriData): string => encode('enrol', data);
export const parseEnrolUri = (uri: string): EnrolUriData => decode('enrol', uri, enrolUriDataSchema);
export const loginUri = (data: LoginUriData): string => encode('login', data);
export const parseLoginUri = (uri: string): LoginUriData => decode('login', uri, loginUriDataSchema);
export const transactionUri = (data: TransactionUriData): string => encode('transaction', data);
export const parseTransactionUri = (uri: string): TransactionUriData =>
  decode('transaction', uri, transactionUriDataSchema);

/** The secure-channel WebSocket URL of a service path under a public http(s) URL. */
export function mobileSocketUrl(
  publicUrl: string,
  path: '/ns/mobile' | '/sfs/mobile' | '/mc/mobile',
): string {
  return `${publicUrl.replace(/\/+$/, '').replace(/^http/, 'ws')}${path}`;
}
