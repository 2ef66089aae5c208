// NS REST v2 transactions (issue #11): create, status, receipt, and the server's transaction types. Thin
// steps; the rules live in transactions/service.ts.
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { z } from 'zod';
import { problems } from '../../common/errors.js';
import { readJson } from '../../common/http/body.js';
import { mayActOn } from '../apikeys/model.js';
import { requireRole } from '../apikeys/roles.js';
import type { VirtualServer } from '../servers/model.js';
import { TransactionError } from '../transactions/errors.js';
import { authorizationDetailValues } from '../transactions/rar.js';
import type { TransactionView } from '../transactions/service.js';
import type { TransactionType } from '../transactions/types.js';
import { auditContextOf } from './audit-context.js';
import { type NsState, principalOf, requireApiKey, requireRoleStep } from './auth.js';
import type { NsApiDeps } from './context.js';
import { noStore } from './no-store.js';
import { koaPath } from './openapi/operation.js';
import {
  transactionOperations as ops,
  type transactionTypeWireSchema,
  type transactionWireSchema,
} from './operations/transactions.js';
import { mapDomainErrors } from './problems.js';
import { mapPushErrors } from './push-problems.js';
import { qrImageDataUrl, qrImagePng } from './qr-image.js';
import { mapTransactionErrors } from './transaction-problems.js';

/** Bodies carry at most one 8 KiB authorization details object and its envelope. */
const bodyLimit = 16 * 1024;

function toWire(v: TransactionView): z.output<typeof transactionWireSchema> {
  const t = v.transaction;
  return {
    tid: t.id,
    // The global id `{NS URL}/ns/{name}` ends in the server name.
    server: t.data.server.slice(t.data.server.lastIndexOf('/') + 1),
    status: v.status,
    type: t.type,
    locale: t.locale,
    userid: t.userid,
    accountid: t.accountId,
    answeredBy: t.answeredBy,
    text: v.rendered,
    template: { id: t.data.template.id, text: t.template, sha256: t.data.template.sha256 },
    signedData: t.data,
    authorizationDetails: t.authorizationDetails,
    createdAt: new Date(t.createdAt).toISOString(),
    expiresAt: new Date(t.expiresAt).toISOString(),
    answeredAt: t.usedAt === null ? null : new Date(t.usedAt).toISOString(),
  };
}

const typeWire = (t: TransactionType): z.output<typeof transactionTypeWireSchema> => ({
  name: t.name,
  builtin: t.builtin,
  templates: t.templates,
});

export function registerTransactionRoutes(router: Router<NsState>, deps: NsApiDeps): void {
  const { transactions, servers } = deps;
  if (!transactions) return;
  const sessionsSteps = [
    noStore,
    requireApiKey(deps.apiKeys),
    requireRoleStep('sessions'),
    mapDomainErrors(),
    mapPushErrors(),
    mapTransactionErrors(),
  ] as const;
  const serverSteps = [
    noStore,
    requireApiKey(deps.apiKeys),
    requireRoleStep('servers'),
    mapDomainErrors(),
    mapTransactionErrors(),
  ] as const;

  /** The path's transaction, if this key may act on its server; another tenant's reads as unknown. */
  const scoped = async (ctx: Context & { state: NsState }): Promise<TransactionView> => {
    const parsed = ops.get.params.safeParse(ctx.params);
    if (!parsed.success) throw new TransactionError('unknown_transaction');
    const view = await transactions.get(parsed.data.tid);
    if (!mayActOn(principalOf(ctx.state), view.transaction.serverId))
      throw new TransactionError('unknown_transaction');
    return view;
  };

  const serverOf = async (ctx: Context & { state: NsState }): Promise<VirtualServer> => {
    const parsed = ops.listTypes.params.safeParse({ server: ctx.params.server });
    if (!parsed.success) throw problems.notFound('No such virtual server');
    const server = await deps.serverAdmin.get(parsed.data.server);
    requireRole(principalOf(ctx.state), 'servers', server.id);
    return server;
  };

  router.post(koaPath(ops.create), ...sessionsSteps, async (ctx) => {
    const body = await readJson(ctx, ops.create.body, bodyLimit);
    const server = await servers.findByName(body.server);
    if (!server || !mayActOn(principalOf(ctx.state), server.id))
      throw problems.notFound('No such virtual server');
    let type: string;
    let values: Record<string, string>;
    let authorizationDetails: Record<string, unknown> | null = null;
    if ('authorization_details' in body) {
      const detail = Array.isArray(body.authorization_details)
        ? body.authorization_details[0]
        : body.authorization_details;
      if (!detail) throw problems.badRequest('authorization_details is empty');
      type = detail.type;
      values = authorizationDetailValues(detail);
      authorizationDetails = detail;
    } else {
      type = 'payment';
      values = {
        amount: body.amount,
        currency: body.currency,
        beneficiary: body.beneficiary,
        description: body.description,
      };
    }
    const { actor, ip, userAgent } = auditContextOf(ctx);
    const created = await transactions.create({
      server,
      target: body.userid !== undefined ? { userid: body.userid } : { accountId: body.accountid ?? '' },
      type,
      ...(body.locale !== undefined ? { locale: body.locale } : {}),
      values,
      delivery: body.delivery,
      authorizationDetails,
      actor,
      origin: { ip, userAgent },
    });
    ctx.status = 201;
    ctx.body = {
      ...toWire(created),
      accounts: created.accounts,
      delivery: body.delivery,
      ...(body.delivery === 'qr' ? { qrUri: (await transactions.qr(created.transaction.id)).uri } : {}),
    };
  });

  router.get(koaPath(ops.qr), ...sessionsSteps, async (ctx) => {
    const query = ops.qr.query.safeParse({ ...ctx.query });
    if (!query.success) throw problems.badRequest('img must be svg or png');
    const qr = await transactions.qr((await scoped(ctx)).transaction.id);
    const { img } = query.data;
    ctx.body = {
      qrData: qr.data,
      qrUri: qr.uri,
      expiresAt: new Date(qr.expiresAt).toISOString(),
      ...(img ? { img: await qrImageDataUrl(qr.uri, img) } : {}),
    };
  });

  router.get(koaPath(ops.qrPng), ...sessionsSteps, async (ctx) => {
    const qr = await transactions.qr((await scoped(ctx)).transaction.id);
    ctx.type = 'image/png';
    ctx.body = await qrImagePng(qr.uri);
  });

  router.get(koaPath(ops.get), ...sessionsSteps, async (ctx) => {
    ctx.body = toWire(await scoped(ctx));
  });

  router.get(koaPath(ops.receipt), ...sessionsSteps, async (ctx) => {
    ctx.body = await transactions.receipt((await scoped(ctx)).transaction.id);
  });

  router.get(koaPath(ops.listTypes), ...serverSteps, async (ctx) => {
    const server = await serverOf(ctx);
    ctx.body = { types: (await transactions.listTypes(server.id)).map(typeWire) };
  });

  router.put(koaPath(ops.putType), ...serverSteps, async (ctx) => {
    const server = await serverOf(ctx);
    const params = ops.putType.params.safeParse(ctx.params);
    if (!params.success) throw problems.notFound('No such transaction type');
    const body = await readJson(ctx, ops.putType.body, bodyLimit * 2);
    const { actor, ip, userAgent } = auditContextOf(ctx);
    ctx.body = typeWire(
      await transactions.putType(server, params.data.type, body.templates, actor, { ip, userAgent }),
    );
  });

  router.delete(koaPath(ops.deleteType), ...serverSteps, async (ctx) => {
    const server = await serverOf(ctx);
    const params = ops.deleteType.params.safeParse(ctx.params);
    if (!params.success) throw problems.notFound('No such transaction type');
    const { actor, ip, userAgent } = auditContextOf(ctx);
    if (!(await transactions.deleteType(server, params.data.type, actor, { ip, userAgent })))
      throw problems.notFound('No such transaction type');
    ctx.status = 204;
  });
}
