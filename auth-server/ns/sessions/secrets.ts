// Nonces, login codes and handles: generation, derivation and the hashes they are stored under.
import { createHash, createHmac } from 'node:crypto';
import { type Random, randomToken } from '../../common/clock.js';

/** 256-bit nonce: above nextAuth's recommended minimum of 128 bits. */
export const nonceBytes = 32;
/** 128-bit login codes: unguessable within their ~45 s life, short enough for a dense-free QR. */
export const loginCodeBytes = 16;

export function newNonce(random: Random): string {
  return randomToken(random, nonceBytes);
}

export function newId(random: Random): string {
  return randomToken(random, 16);
}

/** Hex SHA-256: how nonces and login codes are stored and looked up. */
export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/**
 * The login code of a session for one rotation window. Derived from the nonce with HMAC, so every
 * instance computes the same code for the same window without storing it in clear, and the code reveals
 * nothing about the nonce (DESIGN.md §4: "a short-lived login code derived from it, never the nonce").
 */
export function deriveLoginCode(nonce: string, sessionId: string, window: number): string {
  return createHmac('sha256', nonce)
    .update(`nextauth-login-code\0${sessionId}\0${window}`, 'utf8')
    .digest()
    .subarray(0, loginCodeBytes)
    .toString('base64url');
}
