// REST v2 webhook subscriptions of a virtual server and their deliveries: paths, access and the zod schemas
// the routes validate with (the OpenAPI document is generated from the same objects).
import { z } from 'zod';
import { webhookEventTypeSchema } from '../../events/model.js';
import { deliveryStateSchema, newWebhookSchema, webhookIdSchema } from '../../webhooks/model.js';
import type { ApiOperation } from '../openapi/operation.js';
import { serverParams } from './servers.js';

const instant = z.iso.datetime();

export const webhookParams = serverParams.extend({ id: webhookIdSchema.describe('Webhook id') });

export const webhookSchema = z.object({
  id: z.string(),
  server: z.string(),
  url: z.string(),
  events: z.array(webhookEventTypeSchema),
  description: z.string().nullable(),
  createdAt: instant,
  createdBy: z.string().nullable().describe('Key id of the creator (`root` for the root key)'),
});

export const createdWebhookSchema = webhookSchema.extend({
  secret: z
    .string()
    .describe('`whsec_…` signing secret (Standard Webhooks): shown only in this answer, stored encrypted'),
});

export const webhookListSchema = z.object({ webhooks: z.array(webhookSchema) });

export const deliverySchema = z.object({
  id: z.string(),
  eventId: z.string().describe('CloudEvents `id` and `webhook-id` header'),
  eventType: webhookEventTypeSchema,
  state: deliveryStateSchema,
  attempts: z.number().int(),
  nextAttemptAt: instant.nullable().describe('When a pending delivery is tried next'),
  lastStatus: z.number().int().nullable().describe('HTTP status of the last attempt'),
  lastError: z.string().nullable(),
  createdAt: instant,
  deliveredAt: instant.nullable(),
});

export const deliveryListSchema = z.object({ deliveries: z.array(deliverySchema) });

export const deliveryQuerySchema = z.strictObject({
  state: deliveryStateSchema.optional(),
  limit: z.coerce.number().int().min(1).max(100).optional().describe('1–100, default 20; newest first'),
});

export const webhookOperations = {
  list: {
    method: 'get',
    path: '/api/v2/servers/{server}/webhooks',
    operationId: 'listWebhooks',
    summary: "The server's webhook subscriptions (never their secrets)",
    tag: 'webhooks',
    access: { roles: ['servers'] },
    params: serverParams,
    responses: { 200: { description: 'Webhooks, oldest first', schema: webhookListSchema } },
    problems: [401, 403, 404],
  },
  create: {
    method: 'post',
    path: '/api/v2/servers/{server}/webhooks',
    operationId: 'createWebhook',
    summary: 'Subscribe a URL to business events; the signing secret is returned once',
    description:
      'The URL must be https (http only for a host in NEXTAUTH_OUTBOUND_ALLOW) and resolve to public addresses or allow-listed ones. At most 20 webhooks per server.',
    tag: 'webhooks',
    access: { roles: ['servers'] },
    params: serverParams,
    body: newWebhookSchema,
    responses: { 201: { description: 'The webhook with its secret', schema: createdWebhookSchema } },
    problems: [400, 401, 403, 404, 409, 413, 415],
  },
  delete: {
    method: 'delete',
    path: '/api/v2/servers/{server}/webhooks/{id}',
    operationId: 'deleteWebhook',
    summary: 'Delete a webhook with its queued deliveries',
    tag: 'webhooks',
    access: { roles: ['servers'] },
    params: webhookParams,
    responses: { 204: { description: 'Deleted' } },
    problems: [401, 403, 404],
  },
  deliveries: {
    method: 'get',
    path: '/api/v2/servers/{server}/webhooks/{id}/deliveries',
    operationId: 'listWebhookDeliveries',
    summary: 'Recent deliveries of a webhook with their state and last outcome (for debugging)',
    tag: 'webhooks',
    access: { roles: ['servers'] },
    params: webhookParams,
    query: deliveryQuerySchema,
    responses: { 200: { description: 'Deliveries, newest first', schema: deliveryListSchema } },
    problems: [400, 401, 403, 404],
  },
} satisfies Record<string, ApiOperation>;
