// Shapes shared by the mobile message registries: base64url values, keys, PIN outcomes.
import { z } from 'zod';

/** base64url without padding of exactly 32 bytes (SHA-256 / HMAC-SHA-256 outputs, thumbprints). */
export const b64u32 = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'expected base64url of 32 bytes');

/** A P-256 public key as JWK (RFC 7517); private members are refused. */
export const publicJwkSchema = z
  .object({
    kty: z.literal('EC'),
    crv: z.literal('P-256'),
    x: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
    y: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  })
  .strict();

/**
 * The global id of an NS virtual server: `{NS public URL}/ns/{server name}`. It is the attestation audience
 * and the server's name at an SFS, which serves many NS operators whose server names may collide.
 */
export const serverIdSchema = z.string().url().max(200);

export function nsServerId(nsPublicUrl: string, serverName: string): string {
  return `${nsPublicUrl.replace(/\/+$/, '')}/ns/${serverName}`;
}

/** Longest integrator text shown on the phone (`announceInfo`, `sessionInfo`): two lines on a small screen. */
export const maxInfoTextLength = 200;

/**
 * Integrator text for the user's eyes on the phone (nextAuth's `announceinfo` / `sessioninfo`): one line
 * of plain text, never markup; control and bidi-override characters are refused so text cannot pretend to
 * be something else on the confirmation screen.
 */
export const infoTextSchema = z
  .string()
  .trim()
  .min(1)
  .max(maxInfoTextLength)
  .refine((s) => !/[\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069]/u.test(s), 'control or bidi characters')
  .transform((s) => s.normalize('NFC'));

/** Why a PIN was not accepted; remaining attempts and lockouts are shown to the user. */
export const pinFailureSchema = z.discriminatedUnion('error', [
  z.object({ ok: z.literal(false), error: z.literal('pin_invalid'), attemptsLeft: z.number().int().min(0) }),
  z.object({
    ok: z.literal(false),
    error: z.literal('pin_locked'),
    retryAfterSeconds: z.number().int().min(1),
  }),
  z.object({ ok: z.literal(false), error: z.literal('pin_blocked') }),
]);
export type PinFailure = z.output<typeof pinFailureSchema>;
