// NS-side verification of an SFS attestation: typ, ES256, signature, time, audience, challenge, one-time use.
import { calculateJwkThumbprint, compactVerify, decodeProtectedHeader, importJWK, type JWK } from 'jose';
import type { Clock } from '../clock.js';
import type { Kv } from '../kv/kv.js';
import {
  type AttestationClaims,
  AttestationError,
  attestationAlgorithm,
  attestationClaimsSchema,
  attestationType,
  maxAttestationBytes,
  maxAttestationLifetimeSeconds,
} from './format.js';

export interface VerifyAttestationOptions {
  /** Public keys of the SFS instances this NS trusts (from the signed SDK configuration). */
  sfsPublicKeys: readonly JWK[];
  expectedAudience: string;
  /** attestationChallenge(...) as NS computes it from its own view of the channel and the flow. */
  expectedChallenge: string;
  /** When given, `iss` must equal it. */
  expectedIssuer?: string;
  /** When given (the app instance id stored with the account), `sub` must equal it. */
  expectedSubject?: string;
  clock: Clock;
  /** Allowed clock difference between SFS and NS. Default 5 s. */
  skewSeconds?: number;
  /**
   * Marks `jti` used until `exp` (epoch seconds) and returns true for exactly one caller, e.g. consumeOnce
   * on a table or `kvJtiConsumer`. Called only once every other check has passed.
   */
  consume: (jti: string, exp: number) => Promise<boolean>;
}

/**
 * Returns the verified claims or throws AttestationError. Every check runs before `consume`, so a rejected
 * attestation leaves no trace and a valid one can still be used once.
 */
export async function verifyAttestation(
  jws: string,
  options: VerifyAttestationOptions,
): Promise<AttestationClaims> {
  if (typeof jws !== 'string' || jws.length > maxAttestationBytes)
    throw new AttestationError('attestation_invalid', 'attestation missing or too large');
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(jws);
  } catch {
    throw new AttestationError('attestation_invalid', 'attestation is not a compact JWS');
  }
  // Checked before the signature: a JWT of another type or algorithm is refused even if well signed.
  if (header.typ !== attestationType)
    throw new AttestationError('attestation_invalid', `JWS typ must be ${attestationType}`);
  if (header.alg !== attestationAlgorithm)
    throw new AttestationError('attestation_invalid', `JWS alg must be ${attestationAlgorithm}`);
  if (header.crit !== undefined) throw new AttestationError('attestation_invalid', 'unsupported crit header');
  const jwk = await keyFor(options.sfsPublicKeys, header.kid);

  let payload: Uint8Array;
  try {
    const key = await importedKey(jwk);
    ({ payload } = await compactVerify(jws, key, { algorithms: [attestationAlgorithm] }));
  } catch {
    throw new AttestationError('attestation_invalid', 'attestation signature does not verify');
  }

  let claims: AttestationClaims;
  try {
    claims = attestationClaimsSchema.parse(JSON.parse(new TextDecoder().decode(payload)));
  } catch {
    throw new AttestationError('attestation_invalid', 'attestation claims are malformed');
  }
  const now = Math.floor(options.clock.now() / 1000);
  const skew = options.skewSeconds ?? 5;
  if (claims.exp <= claims.iat || claims.exp - claims.iat > maxAttestationLifetimeSeconds)
    throw new AttestationError('attestation_invalid', 'attestation lifetime exceeds 60 s');
  if (claims.iat > now + skew)
    throw new AttestationError('attestation_invalid', 'attestation issued in the future');
  if (claims.exp + skew <= now) throw new AttestationError('attestation_expired');
  if (options.expectedIssuer !== undefined && claims.iss !== options.expectedIssuer)
    throw new AttestationError('attestation_invalid', 'attestation from an unexpected issuer');
  if (claims.aud !== options.expectedAudience) throw new AttestationError('attestation_wrong_audience');
  if (options.expectedSubject !== undefined && claims.sub !== options.expectedSubject)
    throw new AttestationError('attestation_wrong_subject');
  if (claims.challenge !== options.expectedChallenge)
    throw new AttestationError('attestation_wrong_challenge');
  if (!(await options.consume(claims.jti, claims.exp))) throw new AttestationError('attestation_replayed');
  return claims;
}

/**
 * Thumbprints and imported keys of the trusted SFS keys, per JWK (its JSON, every member): the set is tiny
 * (the active key and those retired within minutes) and the same for every verification, so each key is
 * hashed and imported once per process instead of once per login. Both are pure functions of the public
 * JWK; a failed import is not kept.
 */
const maxCachedKeys = 32;
const thumbprints = new Map<string, Promise<string>>();
const importedKeys = new Map<string, Promise<Awaited<ReturnType<typeof importJWK>>>>();

function memo<T>(cache: Map<string, Promise<T>>, jwk: JWK, compute: () => Promise<T>): Promise<T> {
  const id = JSON.stringify(jwk);
  let value = cache.get(id);
  if (value === undefined) {
    if (cache.size >= maxCachedKeys) cache.clear();
    value = compute();
    cache.set(id, value);
    value.catch(() => cache.delete(id));
  }
  return value;
}

const importedKey = (jwk: JWK) =>
  memo(importedKeys, jwk, () => importJWK({ ...jwk, alg: attestationAlgorithm }, attestationAlgorithm));

/** The key whose RFC 7638 thumbprint is `kid`; the JWK's own `kid` member is not trusted for this. */
async function keyFor(keys: readonly JWK[], kid: unknown): Promise<JWK> {
  if (typeof kid !== 'string') throw new AttestationError('attestation_invalid', 'attestation has no kid');
  for (const jwk of keys) {
    if (jwk.kty !== 'EC' || jwk.crv !== 'P-256') continue;
    if ((await memo(thumbprints, jwk, () => calculateJwkThumbprint(jwk, 'sha256'))) === kid) return jwk;
  }
  throw new AttestationError('attestation_invalid', 'attestation signed by an unknown key');
}

/**
 * A `consume` backed by the shared KV (SET NX until the attestation expires): one winner across all NS
 * instances. The key outlives `exp` by the skew so a late replay still finds it.
 */
export function kvJtiConsumer(
  kv: Kv,
  clock: Clock,
  skewSeconds = 5,
): (jti: string, exp: number) => Promise<boolean> {
  return (jti, exp) => {
    const ttlMs = Math.max(1000, (exp + skewSeconds) * 1000 - clock.now());
    return kv.set(`attestation-jti:${jti}`, '1', { ifAbsent: true, ttlMs: Math.ceil(ttlMs) });
  };
}
