// Webhook subscriptions and deliveries: the domain shapes and the zod schemas of their input.
import { z } from 'zod';
import {
  type BusinessEvent,
  toEventWire,
  type WebhookEventType,
  webhookEventTypeSchema,
} from '../events/model.js';

export const webhookIdSchema = z.string().regex(/^[0-9a-f]{32}$/);

export const webhookUrlSchema = z.string().min(1).max(2048);

export const newWebhookSchema = z.strictObject({
  url: webhookUrlSchema.describe('https, or http only for a host in NEXTAUTH_OUTBOUND_ALLOW'),
  events: z
    .array(webhookEventTypeSchema)
    .min(1)
    .max(16)
    .transform((types) => [...new Set(types)])
    .describe('Event types to deliver'),
  description: z.string().max(200).optional(),
});
export type NewWebhook = z.input<typeof newWebhookSchema>;

export interface Webhook {
  id: string;
  serverId: string;
  url: string;
  events: WebhookEventType[];
  description: string | null;
  createdAt: Date;
  /** Key id of the creator (`root` for the root key), null for NS itself. */
  createdBy: string | null;
}

export const deliveryStates = ['pending', 'delivering', 'delivered', 'failed'] as const;
export const deliveryStateSchema = z.enum(deliveryStates);
export type DeliveryState = z.output<typeof deliveryStateSchema>;

export interface WebhookDelivery {
  id: string;
  webhookId: string;
  eventId: string;
  eventType: string;
  state: DeliveryState;
  attempts: number;
  nextAttemptAt: Date;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
  deliveredAt: Date | null;
}

/** CloudEvents 1.0 (github.com/cloudevents/spec, spec.md §3) in structured JSON mode (json-format.md §3). */
export interface CloudEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  time: string;
  subject?: string;
  datacontenttype: 'application/json';
  data: ReturnType<typeof toEventWire>;
}

export const cloudEventContentType = 'application/cloudevents+json';

/** `dev.nextauth.ns.login`, ...: reverse-DNS prefixed, as CloudEvents recommends for `type`. */
export function cloudEventType(type: BusinessEvent['type']): string {
  return `dev.nextauth.ns.${type.toLowerCase()}`;
}

/** `source` is the server's global id (`{PUBLIC_URL}/ns/{name}`): with `id` it identifies the event. */
export function toCloudEvent(event: BusinessEvent, source: string): CloudEvent {
  return {
    specversion: '1.0',
    id: event.id,
    source,
    type: cloudEventType(event.type),
    time: new Date(event.time).toISOString(),
    ...(event.userid !== null ? { subject: event.userid } : {}),
    datacontenttype: 'application/json',
    data: toEventWire(event),
  };
}
