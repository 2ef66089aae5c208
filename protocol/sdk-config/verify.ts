// Verifies a signed SDK configuration before the app uses any endpoint or key in it (DESIGN.md §1).
import { compactVerify, importJWK } from 'jose';
import { defaultCrypto, ECDSA_P256 } from '../crypto.js';
import { fromB64u, fromUtf8 } from '../encoding.js';
import type { PublicJwk } from '../keys.js';
import { SdkConfigError } from './errors.js';
import { publisherFingerprint } from './fingerprint.js';
import {
  MAX_SDK_CONFIG_BYTES,
  SDK_CONFIG_ALG,
  SDK_CONFIG_TYPE,
  type SdkConfig,
  sdkConfigSchema,
} from './schema.js';

/** Milliseconds since the epoch, injected (the SDK's and the servers' clocks both fit). */
export interface Clock {
  now(): number;
}

/** A trusted key as the app holds it: a JWK (e.g. jose's `JWK`); anything but a P-256 public key is skipped. */
export interface TrustedKey {
  kty?: string;
  crv?: string;
  x?: string;
  y?: string;
}

export interface VerifySdkConfigOptions {
  /** Tolerated clock error of the device when checking `expiresAt`. Default 300 s: phone clocks drift. */
  skewSeconds?: number;
}

const compactJws = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * Returns the configuration if `jws` is a compact ES256 JWS of type `nextauth-sdk-config+jwt` whose `kid`
 * (RFC 7638 thumbprint) names one of `trustedPublisherKeys` and whose signature verifies with that key;
 * otherwise throws SdkConfigError. Header checks run before the signature so that a token of another type
 * or algorithm is refused whatever it carries; the payload is only parsed once the signature holds.
 */
export async function verifySdkConfig(
  jws: string,
  trustedPublisherKeys: readonly TrustedKey[],
  clock: Clock,
  options: VerifySdkConfigOptions = {},
): Promise<SdkConfig> {
  if (typeof jws !== 'string' || jws.length > MAX_SDK_CONFIG_BYTES || !compactJws.test(jws))
    throw new SdkConfigError('malformed', 'SDK configuration is not a compact JWS');
  const header = parseHeader(jws.slice(0, jws.indexOf('.')));

  if (header.typ !== SDK_CONFIG_TYPE)
    throw new SdkConfigError('wrong_type', `JWS typ must be ${SDK_CONFIG_TYPE}`);
  // RFC 8725 §3.1: the algorithm is fixed by us, never chosen by the token (no `none`, no HMAC confusion).
  if (header.alg !== SDK_CONFIG_ALG)
    throw new SdkConfigError('bad_signature', `JWS alg must be ${SDK_CONFIG_ALG}`);
  // RFC 7515 §4.1.11: we understand no extension, so any `crit` makes the JWS unusable.
  if (header.crit !== undefined) throw new SdkConfigError('malformed', 'unsupported crit header');
  if (typeof header.kid !== 'string') throw new SdkConfigError('malformed', 'JWS header has no kid');

  const publisherKey = await trustedKey(trustedPublisherKeys, header.kid);
  let payload: Uint8Array;
  try {
    const key = await importJWK({ ...publisherKey, alg: SDK_CONFIG_ALG }, SDK_CONFIG_ALG);
    ({ payload } = await compactVerify(jws, key, { algorithms: [SDK_CONFIG_ALG] }));
  } catch {
    throw new SdkConfigError('bad_signature', 'SDK configuration signature does not verify');
  }

  let config: SdkConfig;
  try {
    config = sdkConfigSchema.parse(JSON.parse(fromUtf8(payload)));
  } catch (err) {
    throw new SdkConfigError('malformed', `SDK configuration payload is invalid: ${describe(err)}`);
  }
  await requireUsableKey(config.sfs.key, 'sfs.key');
  await requireUsableKey(config.mc.key, 'mc.key');

  const now = Math.floor(clock.now() / 1000);
  if (config.expiresAt !== undefined && config.expiresAt + (options.skewSeconds ?? 300) <= now)
    throw new SdkConfigError(
      'expired',
      `SDK configuration expired at ${new Date(config.expiresAt * 1000).toISOString()}`,
    );
  return config;
}

interface Header {
  alg?: unknown;
  typ?: unknown;
  kid?: unknown;
  crit?: unknown;
}

function parseHeader(encoded: string): Header {
  try {
    const header: unknown = JSON.parse(fromUtf8(fromB64u(encoded)));
    if (typeof header === 'object' && header !== null && !Array.isArray(header)) return header as Header;
  } catch {
    // fall through: one message for every way the header can be unreadable
  }
  throw new SdkConfigError('malformed', 'JWS header is not a JSON object');
}

/** The trusted key whose thumbprint is `kid`; keys that are not P-256 are skipped, not trusted. */
async function trustedKey(keys: readonly TrustedKey[], kid: string): Promise<PublicJwk> {
  for (const jwk of keys) {
    let fingerprint: string;
    try {
      fingerprint = await publisherFingerprint(jwk);
    } catch {
      continue;
    }
    if (fingerprint === kid) return { kty: 'EC', crv: 'P-256', x: jwk.x as string, y: jwk.y as string };
  }
  throw new SdkConfigError('untrusted_publisher', `SDK configuration signed by an untrusted key (${kid})`);
}

/** zod checks the JWK's shape; WebCrypto checks that the point is on the curve. */
async function requireUsableKey(jwk: PublicJwk, field: string): Promise<void> {
  try {
    await defaultCrypto().subtle.importKey('jwk', { ...jwk, ext: true }, ECDSA_P256, true, ['verify']);
  } catch {
    throw new SdkConfigError('malformed', `SDK configuration ${field} is not a valid P-256 public key`);
  }
}

function describe(err: unknown): string {
  if (err instanceof SyntaxError) return 'not JSON';
  if (err instanceof TypeError) return 'not UTF-8';
  if (typeof err === 'object' && err !== null && 'issues' in err && Array.isArray(err.issues)) {
    return err.issues
      .slice(0, 3)
      .map(
        (i: { path?: unknown[]; message?: string }) =>
          `${(i.path ?? []).join('.') || 'payload'}: ${i.message}`,
      )
      .join('; ');
  }
  return 'unreadable';
}
