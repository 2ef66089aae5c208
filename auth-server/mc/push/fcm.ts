// FCM sender: firebase-admin 13 `getMessaging(app).send()` (HTTP v1) with a service-account credential. The
// notification is a high-priority data message: the mailbox id and, when it fits, the sealed message itself.
import { randomBytes } from 'node:crypto';
import type { Agent } from 'node:https';
import { type App, deleteApp, initializeApp } from 'firebase-admin/app';
import { getMessaging, type Message } from 'firebase-admin/messaging';
import type { Clock } from '../../common/clock.js';
import { type EndpointOverride, endpointAgent } from './endpoint-agent.js';
import { serviceAccountCredential } from './fcm-credential.js';
import { inlineSealed, type PushOutcome, type PushSender, pushPayloadKeys } from './sender.js';

/** The fields of a service-account JSON file that the sender needs. */
export interface FcmServiceAccount {
  project_id: string;
  client_email: string;
  private_key: string;
  private_key_id?: string;
}

export interface FcmSenderOptions {
  serviceAccount: FcmServiceAccount;
  clock: Clock;
  /** Test-only: send FCM and OAuth traffic to this endpoint instead. */
  endpoint?: EndpointOverride;
}

/** The token will never work again: the app was uninstalled, or the token is not one FCM issued. */
const invalidToken = new Set(['registration-token-not-registered', 'invalid-registration-token']);
/** Worth another try later (firebase-admin already retries 503 itself, honouring Retry-After). */
const transient = new Set([
  'server-unavailable',
  'internal-error',
  'message-rate-exceeded',
  'device-message-rate-exceeded',
  'unknown-error',
  'network-error',
  'network-timeout',
  // The OAuth token could not be fetched: the token host unreachable as often as a revoked key.
  'invalid-credential',
]);

export function classifyFcmError(err: unknown): PushOutcome {
  const code = (err as { code?: unknown })?.code;
  const reason = typeof code === 'string' ? code.replace(/^(messaging|app)\//, '') : 'unknown-error';
  if (invalidToken.has(reason)) return { ok: false, kind: 'invalid_token', reason };
  if (transient.has(reason)) return { ok: false, kind: 'transient', reason };
  return { ok: false, kind: 'permanent', reason };
}

export function createFcmSender(options: FcmSenderOptions): PushSender {
  const agent: Agent | undefined = options.endpoint ? endpointAgent(options.endpoint) : undefined;
  // A named app per sender: the default app may belong to the embedding application.
  const app: App = initializeApp(
    {
      credential: serviceAccountCredential(options.serviceAccount, agent),
      projectId: options.serviceAccount.project_id,
      ...(agent ? { httpAgent: agent } : {}),
    },
    `nextauth-mc-${randomBytes(6).toString('hex')}`,
  );
  const messaging = getMessaging(app);
  return {
    provider: 'fcm',
    async send(token, notice) {
      const sealed = inlineSealed(notice);
      const message: Message = {
        token,
        data: {
          kind: pushPayloadKeys.kind,
          [pushPayloadKeys.id]: notice.messageId,
          ...(sealed ? { [pushPayloadKeys.sealed]: sealed } : {}),
        },
        android: {
          // A login waits for the user: high priority wakes the app from Doze.
          priority: 'high',
          ttl: Math.max(0, notice.expiresAt - options.clock.now()),
          collapseKey: notice.collapseId ?? notice.messageId,
        },
      };
      try {
        await messaging.send(message);
        return { ok: true };
      } catch (err) {
        return classifyFcmError(err);
      }
    },
    async close() {
      await deleteApp(app);
      agent?.destroy();
    },
  };
}
