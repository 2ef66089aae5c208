// NS REST v2 webhooks (`/api/v2/servers/{server}/webhooks[/{id}[/deliveries]]`). Thin steps; the rules live
// in webhooks/service.ts.
import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { z } from 'zod';
import { HttpProblem, problems } from '../../common/errors.js';
import { readJson } from '../../common/http/body.js';
import { readQuery } from '../../common/http/query.js';
import { requireRole } from '../apikeys/roles.js';
import type { VirtualServer } from '../servers/model.js';
import type { Webhook, WebhookDelivery } from '../webhooks/model.js';
import { WebhookError } from '../webhooks/service.js';
import { auditContextOf } from './audit-context.js';
import { type NsState, principalOf, requireApiKey, requireRoleStep } from './auth.js';
import type { NsApiDeps } from './context.js';
import { noStore } from './no-store.js';
import { koaPath } from './openapi/operation.js';
import {
  type createdWebhookSchema,
  type deliverySchema,
  webhookOperations as ops,
  type webhookSchema,
} from './operations/webhooks.js';
import { mapDomainErrors } from './problems.js';

export function toWebhookWire(webhook: Webhook, server: string): z.output<typeof webhookSchema> {
  return {
    id: webhook.id,
    server,
    url: webhook.url,
    events: webhook.events,
    description: webhook.description,
    createdAt: webhook.createdAt.toISOString(),
    createdBy: webhook.createdBy,
  };
}

function toDeliveryWire(delivery: WebhookDelivery): z.output<typeof deliverySchema> {
  return {
    id: delivery.id,
    eventId: delivery.eventId,
    eventType: delivery.eventType as z.output<typeof deliverySchema>['eventType'],
    state: delivery.state,
    attempts: delivery.attempts,
    nextAttemptAt: delivery.state === 'pending' ? delivery.nextAttemptAt.toISOString() : null,
    lastStatus: delivery.lastStatus,
    lastError: delivery.lastError,
    createdAt: delivery.createdAt.toISOString(),
    deliveredAt: delivery.deliveredAt?.toISOString() ?? null,
  };
}

/** A refused URL is the caller's input (400); the per-server cap is a conflict with what exists (409). */
const mapWebhookErrors: Middleware = async (_ctx, next) => {
  try {
    await next();
  } catch (err) {
    if (err instanceof WebhookError) {
      if (err.code === 'too_many_webhooks') throw problems.conflict(err.message);
      throw new HttpProblem(400, 'bad_request', `Webhook URL not allowed: ${err.message}`, [
        { path: 'url', message: err.message },
      ]);
    }
    throw err;
  }
};

export function registerWebhookRoutes(router: Router<NsState>, deps: NsApiDeps): void {
  const { webhooks, serverAdmin } = deps;
  const steps = [
    noStore,
    requireApiKey(deps.apiKeys),
    requireRoleStep('servers'),
    mapDomainErrors(),
    mapWebhookErrors,
  ] as const;

  /** The path's server (and webhook id), if this key may act on it; 404 like an unknown one otherwise. */
  const target = async <S extends z.ZodObject>(
    ctx: Context & { state: NsState },
    schema: S,
  ): Promise<{ server: VirtualServer; params: z.output<S> }> => {
    const parsed = schema.safeParse(ctx.params);
    if (!parsed.success) throw problems.notFound('No such virtual server or webhook');
    const server = await serverAdmin.get((parsed.data as { server: string }).server);
    requireRole(principalOf(ctx.state), 'servers', server.id);
    return { server, params: parsed.data };
  };

  router.get(koaPath(ops.list), ...steps, async (ctx) => {
    const { server } = await target(ctx, ops.list.params);
    ctx.body = { webhooks: (await webhooks.list(server)).map((w) => toWebhookWire(w, server.name)) };
  });

  router.post(koaPath(ops.create), ...steps, async (ctx) => {
    const { server } = await target(ctx, ops.create.params);
    const body = await readJson(ctx, ops.create.body);
    const { webhook, secret } = await webhooks.create(server, body, {
      ...auditContextOf(ctx),
      createdBy: principalOf(ctx.state).keyId,
    });
    ctx.status = 201;
    ctx.body = { ...toWebhookWire(webhook, server.name), secret } satisfies z.output<
      typeof createdWebhookSchema
    >;
  });

  router.delete(koaPath(ops.delete), ...steps, async (ctx) => {
    const { server, params } = await target(ctx, ops.delete.params);
    if (!(await webhooks.delete(server, params.id, auditContextOf(ctx))))
      throw problems.notFound('No such webhook');
    ctx.status = 204;
  });

  router.get(koaPath(ops.deliveries), ...steps, async (ctx) => {
    const { server, params } = await target(ctx, ops.deliveries.params);
    const query = readQuery(ctx, ops.deliveries.query);
    const list = await webhooks.deliveries(server, params.id, {
      limit: query.limit ?? 20,
      ...(query.state !== undefined ? { state: query.state } : {}),
    });
    if (!list) throw problems.notFound('No such webhook');
    ctx.body = { deliveries: list.map(toDeliveryWire) };
  });
}
