// Fetches `GET {baseUrl}/sdk-config` and verifies it: against pinned publisher keys, or trust-on-first-use for demos.
import { decodeProtectedHeader } from 'jose';
import type { PublicJwk } from '../../../protocol/keys.js';
import { SdkConfigError } from '../../../protocol/sdk-config/errors.js';
import { publisherFingerprint } from '../../../protocol/sdk-config/fingerprint.js';
import {
  MAX_SDK_CONFIG_BYTES,
  type SdkConfig,
  sdkConfigDocumentSchema,
} from '../../../protocol/sdk-config/schema.js';
import { verifySdkConfig } from '../../../protocol/sdk-config/verify.js';
import type { Clock } from '../clock.js';

export interface FetchSdkConfigOptions {
  clock: Clock;
  /**
   * Publisher keys pinned at build time (a real app). When absent, the publisher key served next to the
   * configuration is trusted on first use: only for the demo and tests (docs/decisions.md, "SDK configuration").
   */
  trustedPublisherKeys?: readonly PublicJwk[];
  fetch?: typeof fetch;
}

export interface FetchedSdkConfig {
  config: SdkConfig;
  /** The compact JWS as served, to store and re-verify on every start. */
  jws: string;
  publisherKey: PublicJwk;
  /** RFC 7638 thumbprint of the publisher key: what a person compares when trusting on first use. */
  publisherFingerprint: string;
  trustedOnFirstUse: boolean;
}

/** Network and HTTP problems throw Error; a configuration that fails verification throws SdkConfigError. */
export async function fetchSdkConfig(
  baseUrl: string,
  options: FetchSdkConfigOptions,
): Promise<FetchedSdkConfig> {
  const url = new URL('sdk-config', baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  const res = await (options.fetch ?? fetch)(url, { headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(`GET ${url.href} answered ${res.status}`);
  const text = await res.text();
  // The document is the JWS plus one JWK; anything much larger is not ours.
  if (text.length > 2 * MAX_SDK_CONFIG_BYTES)
    throw new SdkConfigError('malformed', 'SDK configuration document too large');
  let parsed: ReturnType<typeof sdkConfigDocumentSchema.parse>;
  try {
    parsed = sdkConfigDocumentSchema.parse(JSON.parse(text));
  } catch {
    throw new SdkConfigError('malformed', 'SDK configuration document is not {config, publisherKey}');
  }
  const pinned = options.trustedPublisherKeys;
  const config = await verifySdkConfig(parsed.config, pinned ?? [parsed.publisherKey], options.clock);
  // Verified, so `kid` is the thumbprint of the trusted key that signed (the served key may differ from a pin).
  const kid = String(decodeProtectedHeader(parsed.config).kid);
  let publisherKey = parsed.publisherKey;
  for (const key of pinned ?? []) if ((await fingerprintOrNull(key)) === kid) publisherKey = key;
  return { config, jws: parsed.config, publisherKey, publisherFingerprint: kid, trustedOnFirstUse: !pinned };
}

async function fingerprintOrNull(key: PublicJwk): Promise<string | null> {
  try {
    return await publisherFingerprint(key);
  } catch {
    return null;
  }
}
