// The senders the configuration asks for (auth-server/common/config: NEXTAUTH_MC_FCM_*, NEXTAUTH_MC_APNS_*).
import type { Clock } from '../../common/clock.js';
import type { McPushConfig } from '../../common/config/index.js';
import { createApnsSender } from './apns.js';
import { createFcmSender } from './fcm.js';
import type { PushSender } from './sender.js';

export function createPushSenders(
  config: McPushConfig,
  clock: Clock,
): Partial<Record<'fcm' | 'apns', PushSender>> {
  const senders: Partial<Record<'fcm' | 'apns', PushSender>> = {};
  if (config.fcm)
    senders.fcm = createFcmSender({
      serviceAccount: config.fcm.serviceAccount,
      clock,
      ...(config.fcm.endpoint ? { endpoint: config.fcm.endpoint } : {}),
    });
  if (config.apns) {
    const { endpoint, ...apns } = config.apns;
    senders.apns = createApnsSender({ ...apns, ...(endpoint ? { endpoint } : {}) });
  }
  return senders;
}
