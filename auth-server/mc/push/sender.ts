// What a push provider is to the MC: one `send` per stored message, answering with an outcome the dispatcher
// acts on (done, clear the token, retry later, give up) instead of provider-specific errors.

/** A stored mailbox message as the senders see it: ciphertext and ids only, never plaintext. */
export interface PushNotice {
  /** Mailbox message id (the sealed header's id): what the app pulls or de-duplicates by. */
  messageId: string;
  instanceId: string;
  /** `nxm1.…` exactly as stored; sent along only when it fits the provider's payload limit. */
  sealed: string;
  /** Provider collapse key: the message's collapse id, else the message id. */
  collapseId?: string;
  /** Epoch milliseconds: the provider drops the notification after this (FCM TTL, `apns-expiration`). */
  expiresAt: number;
}

export type PushOutcome =
  | { ok: true }
  | {
      ok: false;
      /**
       * `invalid_token`: the provider will never deliver to this token (the app reinstalled or unregistered);
       * `transient`: try again later (5xx, 429, network); `permanent`: this notification will not go, but
       * the token may be fine (configuration, payload).
       */
      kind: 'invalid_token' | 'transient' | 'permanent';
      /** Short provider reason for metrics and logs (`UNREGISTERED`, `BadDeviceToken`, `network`, ...). */
      reason: string;
    };

export interface PushSender {
  readonly provider: 'fcm' | 'apns';
  /** Never throws: every failure is an outcome. `token` is the opened device token (a secret: never logged). */
  send(token: string, notice: PushNotice): Promise<PushOutcome>;
  close(): Promise<void>;
}

/** The app-side contract of the notification payload (both providers carry the same keys). */
export const pushPayloadKeys = {
  /** Marks a nextAuth MC notification among the app's other pushes. */
  kind: 'nextauth',
  id: 'mc_id',
  sealed: 'mc_sealed',
} as const;

/**
 * Largest sealed message sent inside a notification. FCM data and APNs payloads are capped at 4096 bytes;
 * what is left covers keys, the `aps` dictionary and JSON quoting with room to spare.
 */
export const maxInlineSealedBytes = 3072;

export const inlineSealed = (notice: PushNotice): string | undefined =>
  notice.sealed.length <= maxInlineSealedBytes ? notice.sealed : undefined;
