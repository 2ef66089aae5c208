// APNs sender: @parse/node-apn over HTTP/2 with token-based auth (.p8 key, key id, team id). An alert push
// with a generic localisable text and `mutable-content`, so the app's notification service extension can
// open the sealed message (carried when it fits) and show what it is, or pull it.
import { Notification, Provider, type ProviderOptions, type ResponseFailure } from '@parse/node-apn';
import type { PushOutcome, PushSender } from './sender.js';
import { inlineSealed, pushPayloadKeys } from './sender.js';

export interface ApnsSenderOptions {
  /** PEM of the .p8 signing key. */
  key: string;
  keyId: string;
  teamId: string;
  /** The app's bundle id (`apns-topic`). */
  topic: string;
  production: boolean;
  /** Test-only: another APNs endpoint and the CA its certificate comes from. */
  endpoint?: { host: string; port: number; ca?: string };
}

/** Localisation key of the alert the app ships (`Localizable.strings`); iOS shows it before the extension runs. */
export const apnsAlertLocKey = 'NEXTAUTH_MC_MESSAGE';

/** APNs device tokens are hex strings (32 bytes today; Apple says the length may change). */
const deviceTokenPattern = /^[0-9a-fA-F]{1,512}$/;

/** Reasons after which the token will not work again for this app (Apple's "Handling notification responses"). */
const invalidTokenReasons = new Set(['BadDeviceToken', 'Unregistered', 'DeviceTokenNotForTopic']);
/** 403 ExpiredProviderToken: node-apn has already made a new provider token, so the next try uses it. */
const transientStatus = new Set([403, 408, 429, 500, 502, 503, 504]);

export function classifyApnsFailure(failure: ResponseFailure | undefined): PushOutcome {
  if (!failure) return { ok: false, kind: 'permanent', reason: 'no-response' };
  const reason = failure.response?.reason ?? (failure.status ? `status-${failure.status}` : 'network');
  if (failure.status === 410 || invalidTokenReasons.has(reason))
    return { ok: false, kind: 'invalid_token', reason };
  if (failure.status === 403 && reason !== 'ExpiredProviderToken')
    return { ok: false, kind: 'permanent', reason };
  // No status: the connection failed or timed out.
  if (failure.status === undefined || transientStatus.has(Number(failure.status)))
    return { ok: false, kind: 'transient', reason };
  return { ok: false, kind: 'permanent', reason };
}

export function createApnsSender(options: ApnsSenderOptions): PushSender {
  const providerOptions: ProviderOptions = {
    token: { key: options.key, keyId: options.keyId, teamId: options.teamId },
    production: options.production,
    // The dispatcher owns retries (with back-off); node-apn's own would repeat at once.
    connectionRetryLimit: 0,
    requestTimeout: 10_000,
    ...(options.endpoint
      ? {
          address: options.endpoint.host,
          port: options.endpoint.port,
          ...(options.endpoint.ca ? { ca: [options.endpoint.ca] } : {}),
        }
      : {}),
  };
  const provider = new Provider(providerOptions);
  return {
    provider: 'apns',
    async send(token, notice) {
      // node-apn puts the token into the request path as is: anything but hex could reach another path.
      if (!deviceTokenPattern.test(token))
        return { ok: false, kind: 'invalid_token', reason: 'BadDeviceToken' };
      const sealed = inlineSealed(notice);
      const note = new Notification();
      note.topic = options.topic;
      note.pushType = 'alert';
      note.priority = 10;
      note.expiry = Math.floor(notice.expiresAt / 1000);
      note.collapseId = notice.collapseId ?? notice.messageId;
      note.mutableContent = true;
      note.alert = { body: '', 'loc-key': apnsAlertLocKey };
      note.payload = {
        kind: pushPayloadKeys.kind,
        [pushPayloadKeys.id]: notice.messageId,
        ...(sealed ? { [pushPayloadKeys.sealed]: sealed } : {}),
      };
      try {
        const result = await provider.send(note, token);
        if (result.sent.length === 1) return { ok: true };
        return classifyApnsFailure(result.failed[0]);
      } catch {
        return { ok: false, kind: 'transient', reason: 'network' };
      }
    },
    async close() {
      await provider.shutdown();
    },
  };
}
