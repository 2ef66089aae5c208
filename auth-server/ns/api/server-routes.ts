// NS REST v2 management: virtual servers (`/api/v2/servers[/{server}]`) and their API keys
// (`/api/v2/servers/{server}/apikeys[/{id}]`). Thin steps; the rules live in servers/admin.ts and
// apikeys/admin.ts.
import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { z } from 'zod';
import { nsServerId } from '../../../protocol/mobile/common.js';
import { HttpProblem, problems } from '../../common/errors.js';
import { readJson } from '../../common/http/body.js';
import { ApiKeyLimitError } from '../apikeys/admin.js';
import type { ApiKeyRecord } from '../apikeys/model.js';
import { requireGlobalRoot, requireRole } from '../apikeys/roles.js';
import { type AdminActor, ServerAdminError } from '../servers/admin.js';
import { publisherFingerprint, type VirtualServer } from '../servers/model.js';
import { auditContextOf } from './audit-context.js';
import { type NsState, principalOf, requireApiKey, requireRoleStep } from './auth.js';
import type { NsApiDeps } from './context.js';
import { noStore } from './no-store.js';
import { koaPath } from './openapi/operation.js';
import {
  type apiKeySchema,
  type createdApiKeySchema,
  serverOperations as ops,
  type virtualServerSchema,
} from './operations/servers.js';
import { mapDomainErrors } from './problems.js';

export function toServerWire(server: VirtualServer, publicUrl: string): z.output<typeof virtualServerSchema> {
  return {
    name: server.name,
    displayName: server.displayName,
    logo: server.logo,
    policy: server.policy,
    allowedApps: server.allowedApps.map((app) => ({
      name: app.name,
      publisherKey: app.publisherKey,
      fingerprint: publisherFingerprint(app.publisherKey),
    })),
    accentLight: server.accentLight,
    accentDark: server.accentDark,
    appLink: server.appLink,
    recoveryCodes: server.recoveryCodes,
    globalId: nsServerId(publicUrl, server.name),
    createdAt: server.createdAt.toISOString(),
    updatedAt: server.updatedAt.toISOString(),
  };
}

export function toApiKeyWire(key: ApiKeyRecord, server: string): z.output<typeof apiKeySchema> {
  return {
    id: key.id,
    server,
    name: key.name,
    roles: key.roles,
    createdAt: key.createdAt.toISOString(),
    createdBy: key.createdBy ?? null,
  };
}

/** The management errors of this module as problems (409, 503). */
const mapAdminErrors: Middleware = async (_ctx, next) => {
  try {
    await next();
  } catch (err) {
    if (err instanceof ServerAdminError) {
      if (err.code === 'protected_server') throw problems.conflict(err.message);
      throw problems.unavailable(err.message);
    }
    if (err instanceof ApiKeyLimitError) throw problems.conflict(err.message);
    throw err;
  }
};

function parsePath<S extends z.ZodObject>(schema: S, ctx: Pick<Context, 'params'>): z.output<S> {
  // A name that cannot exist is simply not found (as an unknown one).
  const parsed = schema.safeParse(ctx.params);
  if (!parsed.success) throw new HttpProblem(404, 'not_found', 'No such virtual server or API key');
  return parsed.data;
}

export function registerServerRoutes(router: Router<NsState>, deps: NsApiDeps): void {
  const { serverAdmin, apiKeyAdmin, publicUrl } = deps;
  const auth = requireApiKey(deps.apiKeys);
  const servers = requireRoleStep('servers');
  const errors = mapDomainErrors();
  const steps = [noStore, auth, servers, errors, mapAdminErrors] as const;

  const actor = (ctx: Context & { state: NsState }): AdminActor => auditContextOf(ctx);

  /** The named server, if this key may act on it (otherwise 404, like an unknown one). */
  const scopedServer = async (ctx: Context & { state: NsState }): Promise<VirtualServer> => {
    const { server: name } = parsePath(ops.get.params, { params: { server: ctx.params.server } });
    const server = await serverAdmin.get(name);
    requireRole(principalOf(ctx.state), 'servers', server.id);
    return server;
  };

  router.get(koaPath(ops.list), ...steps, async (ctx) => {
    const principal = principalOf(ctx.state);
    const all = await serverAdmin.list();
    const visible = all.filter((s) => principal.serverId === null || principal.serverId === s.id);
    ctx.body = { servers: visible.map((s) => toServerWire(s, publicUrl)) };
  });

  router.post(koaPath(ops.create), ...steps, async (ctx) => {
    requireGlobalRoot(principalOf(ctx.state), 'create virtual servers');
    const body = await readJson(ctx, ops.create.body);
    const server = await serverAdmin.create(body, actor(ctx));
    ctx.status = 201;
    ctx.body = toServerWire(server, publicUrl);
  });

  router.get(koaPath(ops.get), ...steps, async (ctx) => {
    ctx.body = toServerWire(await scopedServer(ctx), publicUrl);
  });

  router.patch(koaPath(ops.update), ...steps, async (ctx) => {
    const server = await scopedServer(ctx);
    const body = await readJson(ctx, ops.update.body);
    ctx.body = toServerWire(await serverAdmin.update(server.name, body, actor(ctx)), publicUrl);
  });

  router.delete(koaPath(ops.delete), ...steps, async (ctx) => {
    requireGlobalRoot(principalOf(ctx.state), 'delete virtual servers');
    const { server } = parsePath(ops.delete.params, ctx);
    await serverAdmin.delete(server, actor(ctx));
    ctx.status = 204;
  });

  router.get(koaPath(ops.listKeys), ...steps, async (ctx) => {
    const server = await scopedServer(ctx);
    const keys = await apiKeyAdmin.list(server);
    ctx.body = { apiKeys: keys.map((k) => toApiKeyWire(k, server.name)) };
  });

  router.post(koaPath(ops.createKey), ...steps, async (ctx) => {
    const server = await scopedServer(ctx);
    const body = await readJson(ctx, ops.createKey.body);
    const { key, secret } = await apiKeyAdmin.create(principalOf(ctx.state), server, body, actor(ctx));
    ctx.status = 201;
    ctx.body = { ...toApiKeyWire(key, server.name), key: secret } satisfies z.output<
      typeof createdApiKeySchema
    >;
  });

  router.delete(koaPath(ops.revokeKey), ...steps, async (ctx) => {
    const server = await scopedServer(ctx);
    const { id } = parsePath(ops.revokeKey.params, ctx);
    if (!(await apiKeyAdmin.revoke(principalOf(ctx.state), server, id, actor(ctx)))) {
      throw problems.notFound('No such API key');
    }
    ctx.status = 204;
  });
}
