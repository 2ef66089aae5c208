// Signs an SDK configuration as the app publisher: compact JWS, ES256, `typ: nextauth-sdk-config+jwt`, kid = thumbprint.
import { CompactSign, importJWK } from 'jose';
import {
  SDK_CONFIG_ALG,
  SDK_CONFIG_TYPE,
  type SdkConfig,
  sdkConfigSchema,
} from '../../../protocol/sdk-config/schema.js';
import { type PublisherKey, type PublisherPrivateJwk, publisherKeyFromJwk } from './publisher-key.js';

/** Validates with the very schema the SDK verifies against, so a configuration that signs also verifies. */
export async function signSdkConfig(
  config: SdkConfig,
  publisherKey: PublisherKey | PublisherPrivateJwk,
): Promise<string> {
  const checked = sdkConfigSchema.safeParse(config);
  if (!checked.success) {
    const issues = checked.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`);
    throw new Error(`invalid SDK configuration: ${issues.join('; ')}`);
  }
  const key = 'privateJwk' in publisherKey ? publisherKey : await publisherKeyFromJwk(publisherKey);
  const signingKey = await importJWK({ ...key.privateJwk, alg: SDK_CONFIG_ALG }, SDK_CONFIG_ALG);
  return new CompactSign(new TextEncoder().encode(JSON.stringify(checked.data)))
    .setProtectedHeader({ alg: SDK_CONFIG_ALG, typ: SDK_CONFIG_TYPE, kid: key.fingerprint })
    .sign(signingKey);
}
