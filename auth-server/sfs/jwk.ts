// P-256 public JWKs as SFS accepts them (app instances, NS servers): validated, on the curve, thumbprinted.
import { calculateJwkThumbprint, importJWK } from 'jose';
import { z } from 'zod';
import { parseInput, SfsError } from './errors.js';

const coordinate = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'expected a base64url P-256 coordinate');

/** Public members only: a JWK that carries `d` (a private key sent by mistake) is refused, not stripped. */
export const p256PublicJwkSchema = z
  .looseObject({ kty: z.literal('EC'), crv: z.literal('P-256'), x: coordinate, y: coordinate })
  .refine((jwk) => !('d' in jwk), { message: 'a private key must never leave the device', path: ['d'] })
  .transform(({ kty, crv, x, y }) => ({ kty, crv, x, y }));

export type P256PublicJwk = z.output<typeof p256PublicJwkSchema>;

/**
 * Parses, proves the point lies on P-256 (importing does), and returns the RFC 7638 thumbprint.
 * `known(thumbprint)` may vouch for the point instead: true when a key with this thumbprint was accepted
 * before (the thumbprint is SHA-256 over exactly kty, crv, x and y), which spares the import.
 */
export async function acceptP256Jwk(
  input: unknown,
  known?: (thumbprint: string) => Promise<boolean>,
): Promise<{ jwk: P256PublicJwk; thumbprint: string }> {
  const jwk = parseInput(p256PublicJwkSchema, input);
  const thumbprint = await calculateJwkThumbprint(jwk, 'sha256');
  if (known && (await known(thumbprint))) return { jwk, thumbprint };
  try {
    await importJWK(jwk, 'ES256');
  } catch {
    throw new SfsError('invalid_request', { issues: [{ path: 'x', message: 'not a point on P-256' }] });
  }
  return { jwk, thumbprint };
}
