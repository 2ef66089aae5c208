// Public API of the signed SDK configuration: schema, verification, fetching, publisher fingerprints.
export {
  SdkConfigError,
  type SdkConfigErrorCode,
  sdkConfigErrorCodes,
} from '../../../protocol/sdk-config/errors.js';
export { publisherFingerprint } from '../../../protocol/sdk-config/fingerprint.js';
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
} from '../../../protocol/sdk-config/schema.js';
export {
  type TrustedKey,
  type VerifySdkConfigOptions,
  verifySdkConfig,
} from '../../../protocol/sdk-config/verify.js';
export { type FetchedSdkConfig, type FetchSdkConfigOptions, fetchSdkConfig } from './fetch.js';
