// NS REST v2 users of a virtual server (`/api/v2/servers/{server}/users[/{userid}]`), role `users`.
// Thin steps; the rules live in users/service.ts.
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { z } from 'zod';
import { problems } from '../../common/errors.js';
import { readJson } from '../../common/http/body.js';
import { readQuery } from '../../common/http/query.js';
import { requireRole } from '../apikeys/roles.js';
import type { VirtualServer } from '../servers/model.js';
import type { User } from '../users/model.js';
import { auditContextOf } from './audit-context.js';
import { type NsState, principalOf, requireApiKey, requireRoleStep } from './auth.js';
import type { NsApiDeps } from './context.js';
import { noStore } from './no-store.js';
import { koaPath } from './openapi/operation.js';
import { attributeFilters, userOperations as ops, type userSchema } from './operations/users.js';
import { mapDomainErrors } from './problems.js';

export function toUserWire(user: User, server: string): z.output<typeof userSchema> {
  return {
    userid: user.userid,
    server,
    name: user.name,
    email: user.email,
    attributes: user.attributes,
    groups: user.groups,
    createdAt: user.createdAt.toISOString(),
    updatedAt: user.updatedAt.toISOString(),
  };
}

export function registerUserRoutes(router: Router<NsState>, deps: NsApiDeps): void {
  const { serverAdmin, users } = deps;
  const steps = [noStore, requireApiKey(deps.apiKeys), requireRoleStep('users'), mapDomainErrors()];

  /** The named server, if this key may act on it (otherwise 404, like an unknown one). */
  const scopedServer = async (ctx: Context & { state: NsState }, name: string): Promise<VirtualServer> => {
    const server = await serverAdmin.get(name);
    requireRole(principalOf(ctx.state), 'users', server.id);
    return server;
  };

  /** The path's server and userid. */
  const target = async (
    ctx: Context & { state: NsState },
  ): Promise<{ server: VirtualServer; userid: string }> => {
    const parsed = ops.get.params.safeParse(ctx.params);
    if (!parsed.success) throw problems.notFound('No such virtual server or user');
    return { server: await scopedServer(ctx, parsed.data.server), userid: parsed.data.userid };
  };

  router.get(koaPath(ops.list), ...steps, async (ctx) => {
    const path = ops.list.params.safeParse(ctx.params);
    if (!path.success) throw problems.notFound('No such virtual server');
    const server = await scopedServer(ctx, path.data.server);
    const q = readQuery(ctx, ops.list.query);
    const page = await users.list(server, {
      attributes: attributeFilters(q),
      ...(q.group !== undefined && { groups: q.group }),
      ...(q.q !== undefined && { search: q.q }),
      ...(q.sort !== undefined && { sort: q.sort }),
      ...(q.limit !== undefined && { limit: q.limit }),
      ...(q.marker !== undefined && { marker: q.marker }),
    });
    ctx.body = { users: page.users.map((u) => toUserWire(u, server.name)), next_marker: page.nextMarker };
  });

  router.get(koaPath(ops.get), ...steps, async (ctx) => {
    const { server, userid } = await target(ctx);
    const user = await users.get(server, userid);
    if (!user) throw problems.notFound('No such user');
    ctx.body = toUserWire(user, server.name);
  });

  router.put(koaPath(ops.replace), ...steps, async (ctx) => {
    const { server, userid } = await target(ctx);
    const body = await readJson(ctx, ops.replace.body);
    const { user, created } = await users.replace(server, userid, body, auditContextOf(ctx));
    ctx.status = created ? 201 : 200;
    ctx.body = toUserWire(user, server.name);
  });

  router.patch(koaPath(ops.merge), ...steps, async (ctx) => {
    const { server, userid } = await target(ctx);
    const body = await readJson(ctx, ops.merge.body);
    const { user, created } = await users.merge(server, userid, body, auditContextOf(ctx));
    ctx.status = created ? 201 : 200;
    ctx.body = toUserWire(user, server.name);
  });

  router.delete(koaPath(ops.delete), ...steps, async (ctx) => {
    const { server, userid } = await target(ctx);
    const result = await users.delete(server, userid, auditContextOf(ctx));
    if (!result) throw problems.notFound('No such user');
    ctx.body = { userid, accountsDeleted: result.accountsDeleted };
  });
}
