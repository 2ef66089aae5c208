// The signed SDK configuration (DESIGN.md §1): an app publisher's SFS and MC endpoints and keys, as zod schemas.
import { z } from 'zod';
import { publicJwkSchema } from '../mobile/common.js';

/** JWS `typ` of an SDK configuration (RFC 7515 §4.1.9); a JWS of any other type is refused. */
export const SDK_CONFIG_TYPE = 'nextauth-sdk-config+jwt';
export const SDK_CONFIG_ALG = 'ES256';
/** Cap on the compact JWS before anything is parsed (DESIGN.md §6: size-cap every input). */
export const MAX_SDK_CONFIG_BYTES = 16 * 1024;

function isChannelUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  // ws:// is allowed: the secure channel authenticates SFS/MC by the key signed next to the URL, not by TLS.
  return (
    (url.protocol === 'wss:' || url.protocol === 'ws:') &&
    url.username === '' &&
    url.password === '' &&
    url.search === '' &&
    url.hash === ''
  );
}

export const channelUrlSchema = z
  .string()
  .max(2048)
  .refine(isChannelUrl, 'must be a ws:// or wss:// URL without credentials, query or fragment');

/** A service the app talks to over the secure channel: where, and the identity key it must present. */
export const sdkEndpointSchema = z.object({ url: channelUrlSchema, key: publicJwkSchema }).strict();

export const sdkAppSchema = z
  .object({
    /** Stable identifier of the app (e.g. reverse DNS); NS servers decide per app id whom they trust. */
    id: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'letters, digits, ".", "_" and "-", at most 128'),
    name: z.string().min(1).max(100),
  })
  .strict();

/**
 * Payload of the JWS. Times are seconds since the epoch (like JWT NumericDate). Unknown members are refused:
 * a future format bumps `v` rather than adding fields an older SDK would silently ignore.
 */
export const sdkConfigSchema = z
  .object({
    v: z.literal(1),
    app: sdkAppSchema,
    sfs: sdkEndpointSchema,
    mc: sdkEndpointSchema,
    issuedAt: z.number().int().nonnegative(),
    expiresAt: z.number().int().positive().optional(),
  })
  .strict()
  .refine((c) => c.expiresAt === undefined || c.expiresAt > c.issuedAt, {
    message: 'expiresAt must be after issuedAt',
    path: ['expiresAt'],
  });

export type SdkConfig = z.output<typeof sdkConfigSchema>;
export type SdkEndpoint = z.output<typeof sdkEndpointSchema>;

/**
 * What `GET {PUBLIC_URL}/sdk-config` answers (docs/decisions.md, "SDK configuration"): the signed
 * configuration and the publisher key a demo device trusts on first use. A real app ignores `publisherKey`
 * and verifies against the key pinned at build time.
 */
export const sdkConfigDocumentSchema = z.object({
  config: z.string().max(MAX_SDK_CONFIG_BYTES),
  publisherKey: publicJwkSchema,
});

export type SdkConfigDocument = z.output<typeof sdkConfigDocumentSchema>;
