// The stored form of a PIN (DESIGN.md §6): HMAC-SHA-256(pepper, instance id ‖ PIN proof); never the proof.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/**
 * The app's PIN proof: base64url of HMAC(device PIN key, PIN), 32 bytes. Canonical encoding only, so one
 * proof has one spelling and cannot dodge the attempt counter by re-encoding.
 */
export const pinProofSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{43}$/, 'expected base64url of 32 bytes')
  .refine((s) => Buffer.from(s, 'base64url').toString('base64url') === s, 'non-canonical base64url')
  .transform((s) => Buffer.from(s, 'base64url'));

/**
 * Hex verifier. The instance id is length-prefixed, so no (id, proof) pair collides with another; the
 * pepper lives only in configuration, so a stolen database alone cannot test PIN guesses offline.
 */
export function pinVerifier(pepper: string, instanceId: string, proof: Uint8Array): string {
  const id = Buffer.from(instanceId, 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(id.length);
  return createHmac('sha256', pepper).update(length).update(id).update(proof).digest('hex');
}

/** Constant-time comparison of two hex verifiers (their length is fixed and not secret). */
export function verifierMatches(stored: string, computed: string): boolean {
  const a = Buffer.from(stored, 'hex');
  const b = Buffer.from(computed, 'hex');
  return a.length === 32 && b.length === 32 && timingSafeEqual(a, b);
}
