// Embedded mode's `GET /sdk-config`: the demo SDK configuration (this process's SFS and MC) signed by a local publisher key.
import { join } from 'node:path';
import Router from '@koa/router';
import type { Clock } from '../../auth-server/common/clock.js';
import type { Config } from '../../auth-server/common/config/index.js';
import type { ServiceInstance } from '../../auth-server/common/service.js';
import type { McServiceInstance } from '../../auth-server/mc/service.js';
import type { SfsServiceInstance } from '../../auth-server/sfs/service.js';
import type { SdkConfigDocument } from '../../protocol/sdk-config/schema.js';
import { demoSdkConfig, loadOrCreatePublisherKey, sdkConfigDocument } from '../admin/sdk-config/index.js';

/** Generated once, mode 0600; a device that trusted it on first use keeps working across restarts. */
export const publisherKeyFile = 'sdk-publisher-key.json';
/**
 * Only for a process without the MC (e.g. a test that starts NS and SFS alone): the configuration schema
 * requires an MC key, so this placeholder P-256 key (same file format) stands in. With the MC running, its
 * own channel key is signed into the configuration.
 */
export const mcPlaceholderKeyFile = 'mc-placeholder-key.json';

export interface EmbeddedSdkConfigOptions {
  config: Pick<Config, 'publicUrl' | 'dataDir'>;
  clock: Clock;
  /** The started services; the SFS among them provides its channel (= attestation) key. */
  instances: readonly ServiceInstance[];
}

/**
 * Builds and signs the document at start, so a broken key file stops start-up instead of the first phone;
 * undefined when this process hosts no SFS. Signed once per process: the SFS key does not rotate yet
 * (when it does, re-sign on rotation).
 */
export async function embeddedSdkConfig(
  options: EmbeddedSdkConfigOptions,
): Promise<SdkConfigDocument | undefined> {
  const { config, clock } = options;
  const sfs = options.instances.find((i): i is SfsServiceInstance => i.name === 'sfs');
  if (!sfs) return undefined;
  const mc = options.instances.find((i): i is McServiceInstance => i.name === 'mc');
  const [publisherKey, mcKey, identity] = await Promise.all([
    loadOrCreatePublisherKey(join(config.dataDir, publisherKeyFile)),
    mc ? mc.api.identity() : loadOrCreatePublisherKey(join(config.dataDir, mcPlaceholderKeyFile)),
    sfs.api.sfsIdentity(),
  ]);
  const jws = await demoSdkConfig({
    publicUrl: config.publicUrl,
    sfsKey: identity.publicJwk,
    mcKey: mcKey.publicJwk,
    publisherKey,
    now: clock.now(),
  });
  return sdkConfigDocument(jws, publisherKey);
}

export function sdkConfigRouter(document: SdkConfigDocument): Router {
  const router = new Router();
  router.get('/sdk-config', (ctx) => {
    // Public and signed, but revalidated: a device must not keep a configuration the server has replaced.
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = document;
  });
  return router;
}
