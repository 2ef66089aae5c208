// NS REST v2 accounts (phones) of a virtual server (`/api/v2/servers/{server}/accounts[/{account}]` and
// `/users/{userid}/accounts`), role `accounts`. Thin steps; the rules live in accounts/admin.ts.
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { z } from 'zod';
import { problems } from '../../common/errors.js';
import { readJson } from '../../common/http/body.js';
import { readQuery } from '../../common/http/query.js';
import type { Account } from '../accounts/model.js';
import { requireRole } from '../apikeys/roles.js';
import type { VirtualServer } from '../servers/model.js';
import { auditContextOf } from './audit-context.js';
import { type NsState, principalOf, requireApiKey, requireRoleStep } from './auth.js';
import type { NsApiDeps } from './context.js';
import { noStore } from './no-store.js';
import { koaPath } from './openapi/operation.js';
import { type accountSchema, accountOperations as ops } from './operations/accounts.js';
import { mapDomainErrors } from './problems.js';

const iso = (d: Date | null) => (d === null ? null : d.toISOString());

/** The wire form: the key only by its thumbprint, never the key material. */
export function toAccountWire(account: Account, server: string): z.output<typeof accountSchema> {
  return {
    id: account.id,
    server,
    userid: account.userid,
    description: account.description,
    clientVersion: account.clientVersion,
    createdAt: account.createdAt.toISOString(),
    lastLoginAt: iso(account.lastLoginAt),
    lastPushAt: iso(account.lastPushAt),
    blockedAt: iso(account.blockedAt),
    keyThumbprint: account.keyThumbprint,
  };
}

type Ctx = Context & { state: NsState };

export function registerAccountRoutes(router: Router<NsState>, deps: NsApiDeps): void {
  const { serverAdmin, accountAdmin } = deps;
  const steps = [noStore, requireApiKey(deps.apiKeys), requireRoleStep('accounts'), mapDomainErrors()];

  /** The named server, if this key may act on it (otherwise 404, like an unknown one). */
  const scopedServer = async (ctx: Ctx, name: string): Promise<VirtualServer> => {
    const server = await serverAdmin.get(name);
    requireRole(principalOf(ctx.state), 'accounts', server.id);
    return server;
  };

  /** The path's server and account id (a malformed id cannot name an account: 404). */
  const target = async (ctx: Ctx): Promise<{ server: VirtualServer; id: string }> => {
    const parsed = ops.get.params.safeParse(ctx.params);
    if (!parsed.success) throw problems.notFound('No such virtual server or account');
    return { server: await scopedServer(ctx, parsed.data.server), id: parsed.data.account };
  };

  const found = <T>(value: T | undefined): T => {
    if (value === undefined) throw problems.notFound('No such account');
    return value;
  };

  router.get(koaPath(ops.list), ...steps, async (ctx) => {
    const path = ops.list.params.safeParse(ctx.params);
    if (!path.success) throw problems.notFound('No such virtual server');
    const server = await scopedServer(ctx, path.data.server);
    const q = readQuery(ctx, ops.list.query);
    const page = await accountAdmin.list(server, {
      ...(q.userid !== undefined && { userid: q.userid }),
      ...(q.blocked !== undefined && { blocked: q.blocked }),
      ...(q.limit !== undefined && { limit: q.limit }),
      ...(q.marker !== undefined && { marker: q.marker }),
    });
    ctx.body = {
      accounts: page.accounts.map((a) => toAccountWire(a, server.name)),
      next_marker: page.nextMarker,
    };
  });

  router.get(koaPath(ops.get), ...steps, async (ctx) => {
    const { server, id } = await target(ctx);
    ctx.body = toAccountWire(found(await accountAdmin.get(server, id)), server.name);
  });

  router.patch(koaPath(ops.update), ...steps, async (ctx) => {
    const { server, id } = await target(ctx);
    const body = await readJson(ctx, ops.update.body);
    const { account } = found(await accountAdmin.update(server, id, body, auditContextOf(ctx)));
    ctx.body = toAccountWire(account, server.name);
  });

  router.delete(koaPath(ops.delete), ...steps, async (ctx) => {
    const { server, id } = await target(ctx);
    ctx.body = toAccountWire(found(await accountAdmin.delete(server, id, auditContextOf(ctx))), server.name);
  });

  router.post(koaPath(ops.block), ...steps, async (ctx) => {
    const { server, id } = await target(ctx);
    const { account } = found(await accountAdmin.block(server, id, auditContextOf(ctx)));
    ctx.body = toAccountWire(account, server.name);
  });

  router.post(koaPath(ops.unblock), ...steps, async (ctx) => {
    const { server, id } = await target(ctx);
    const { account } = found(await accountAdmin.unblock(server, id, auditContextOf(ctx)));
    ctx.body = toAccountWire(account, server.name);
  });

  router.delete(koaPath(ops.deleteOfUser), ...steps, async (ctx) => {
    const parsed = ops.deleteOfUser.params.safeParse(ctx.params);
    if (!parsed.success) throw problems.notFound('No such virtual server or user');
    const server = await scopedServer(ctx, parsed.data.server);
    const { userid } = parsed.data;
    const accountsDeleted = await accountAdmin.deleteAllOf(server, userid, auditContextOf(ctx));
    ctx.body = { userid, accountsDeleted };
  });
}
