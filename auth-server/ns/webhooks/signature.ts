// Webhook signatures after Standard Webhooks (standardwebhooks.com, "Signature scheme"): HMAC-SHA256 with
// the secret's bytes over `{webhook-id}.{webhook-timestamp}.{body}`, sent as `webhook-signature: v1,<base64>`.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Random } from '../../common/clock.js';

export const webhookSecretPrefix = 'whsec_';
/** 32 random bytes: the spec allows 24–64. */
const secretBytes = 32;

/** `whsec_` + base64 of the key bytes (the form Standard Webhooks libraries take as it is). */
export function newWebhookSecret(random: Random): string {
  return `${webhookSecretPrefix}${Buffer.from(random.bytes(secretBytes)).toString('base64')}`;
}

function keyOf(secret: string): Buffer {
  if (!secret.startsWith(webhookSecretPrefix)) throw new RangeError('not a webhook secret');
  return Buffer.from(secret.slice(webhookSecretPrefix.length), 'base64');
}

/** The three headers of one attempt (the id stays the same across retries, the timestamp does not). */
export interface WebhookSignatureHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

export function signWebhook(
  secret: string,
  id: string,
  timestampSeconds: number,
  body: string,
): WebhookSignatureHeaders {
  const mac = createHmac('sha256', keyOf(secret))
    .update(`${id}.${timestampSeconds}.${body}`)
    .digest('base64');
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': `v1,${mac}`,
  };
}

/**
 * What a receiver does (here for tests and as the reference for docs/api.md): recompute, compare in constant
 * time against each space-separated `v1,` signature, and refuse timestamps more than `toleranceSeconds` away.
 */
export function verifyWebhook(
  secret: string,
  headers: Partial<Record<keyof WebhookSignatureHeaders, string | undefined>>,
  body: string,
  options: { nowSeconds: number; toleranceSeconds?: number },
): boolean {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signatures = headers['webhook-signature'];
  if (!id || !timestamp || !signatures || !/^\d{1,12}$/.test(timestamp)) return false;
  if (Math.abs(options.nowSeconds - Number(timestamp)) > (options.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(
    signWebhook(secret, id, Number(timestamp), body)['webhook-signature'].slice(3),
    'base64',
  );
  return signatures.split(' ').some((entry) => {
    const [version, value] = entry.split(',');
    if (version !== 'v1' || value === undefined) return false;
    const given = Buffer.from(value, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

/** Webhook and delivery ids: 32 hex characters (the audit's id form). */
export function newHexId(random: Random): string {
  return Buffer.from(random.bytes(16)).toString('hex');
}
