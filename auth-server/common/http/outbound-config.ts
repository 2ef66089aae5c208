// The outbound client as configured (NEXTAUTH_OUTBOUND_ALLOW), for every service that calls out.
import { ConfigError, settings } from '../config/index.js';
import { createOutboundClient, type OutboundClient } from './outbound.js';

/** A malformed allow-list entry stops start-up with one line naming the variable. */
export function configuredOutboundClient(allow: readonly string[]): OutboundClient {
  try {
    return createOutboundClient({ allow });
  } catch (err) {
    if (err instanceof RangeError) throw new ConfigError(settings.outboundAllow.env, err.message);
    throw err;
  }
}
