// Publisher side of the signed SDK configuration: keys, signing, and embedded mode's demo configuration.
export {
  DEMO_APP,
  type DemoSdkConfigInput,
  demoSdkConfig,
  mobileChannelUrl,
  sdkConfigDocument,
} from './demo.js';
export {
  generatePublisherKey,
  loadOrCreatePublisherKey,
  type PublisherKey,
  type PublisherPrivateJwk,
  publisherKeyFromJwk,
  readPublicJwk,
  readPublisherKeyFile,
  writePublisherKeyFile,
} from './publisher-key.js';
export { signSdkConfig } from './sign.js';
