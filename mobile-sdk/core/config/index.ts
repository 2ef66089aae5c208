// Public API of the signed SDK configuration: schema, verification, fetching, publisher fingerprints.
export { SdkConfigError, type SdkConfigErrorCode, sdkConfigErrorCodes } from './errors.js';
export { type FetchedSdkConfig, type FetchSdkConfigOptions, fetchSdkConfig } from './fetch.js';
export { publisherFingerprint } from './fingerprint.js';
export {
  channelUrlSchema,
  MAX_SDK_CONFIG_BYTES,
  SDK_CONFIG_ALG,
  SDK_CONFIG_TYPE,
  type SdkConfig,
  type SdkConfigDocument,
  type SdkEndpoint,
  sdkAppSchema,
  sdkConfigDocumentSchema,
  sdkConfigSchema,
  sdkEndpointSchema,
} from './schema.js';
export { type TrustedKey, type VerifySdkConfigOptions, verifySdkConfig } from './verify.js';
