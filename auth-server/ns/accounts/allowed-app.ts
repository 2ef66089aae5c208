// Allowed apps of a virtual server: when the server lists trusted SDK-configuration publishers, a phone
// enrols only if its app runs a configuration one of them signed, and that configuration names the SFS
// that attested the enrolment. An empty list trusts any app of the SFS this NS uses.
import { decodeProtectedHeader } from 'jose';
import { sfsIssuerFromEndpoint } from '../../../protocol/mobile/sfs-target.js';
import { SdkConfigError } from '../../../protocol/sdk-config/errors.js';
import type { SdkConfig } from '../../../protocol/sdk-config/schema.js';
import { verifySdkConfig } from '../../../protocol/sdk-config/verify.js';
import type { Clock } from '../../common/clock.js';
import type { AllowedApp } from '../servers/model.js';
import { AccountError } from './errors.js';

/** The app an enrolment runs in, as recorded with the account's audit event. */
export interface EnrollingApp {
  id: string;
  publisher: string;
}

/**
 * Verifies `sdkConfig` against the server's allowed publishers; null when the server allows any app.
 * Throws AccountError `app_not_allowed` (missing, unsigned by an allowed publisher, expired, malformed).
 */
export async function checkAllowedApp(
  allowed: readonly AllowedApp[],
  sdkConfig: string | undefined,
  clock: Clock,
): Promise<{ config: SdkConfig; app: EnrollingApp } | null> {
  if (allowed.length === 0) return null;
  if (sdkConfig === undefined)
    throw new AccountError(
      'app_not_allowed',
      'This server accepts only listed apps; the app sent no configuration',
    );
  try {
    const config = await verifySdkConfig(
      sdkConfig,
      allowed.map((a) => a.publisherKey),
      clock,
    );
    // Verified: the kid is the thumbprint of the allowed publisher key that signed it.
    const publisher = String(decodeProtectedHeader(sdkConfig).kid);
    return { config, app: { id: config.app.id, publisher } };
  } catch (err) {
    if (err instanceof SdkConfigError)
      throw new AccountError('app_not_allowed', `This server does not accept this app (${err.code})`);
    throw err;
  }
}

/** The attested SFS must be the one the configuration names: an allowed publisher vouches for its SFS only. */
export function requireConfiguredSfs(config: SdkConfig, attestedIssuer: string): void {
  if (sfsIssuerFromEndpoint(config.sfs.url) !== attestedIssuer)
    throw new AccountError(
      'app_not_allowed',
      "The app's configuration names another SFS than the one that attested",
    );
}
