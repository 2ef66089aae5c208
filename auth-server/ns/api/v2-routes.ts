// NS REST v2 session endpoints (after nextAuth REST v2.2): create, getSession, logout, QR data.
import type Router from '@koa/router';
import { problems } from '../../common/errors.js';
import { readJson } from '../../common/http/body.js';
import { mayActOn } from '../apikeys/model.js';
import { SessionError } from '../sessions/errors.js';
import { effectiveState, type Session, toLoginStatus } from '../sessions/model.js';
import { auditContextOf } from './audit-context.js';
import { type NsState, nonceHeader, principalOf, requireApiKey, requireRoleStep } from './auth.js';
import { defaultLimits, type NsApiDeps } from './context.js';
import { noStore } from './no-store.js';
import { koaPath } from './openapi/operation.js';
import { sessionOperations as ops } from './operations/sessions.js';
import { mapDomainErrors } from './problems.js';
import { qrImageDataUrl, qrImagePng } from './qr-image.js';
import { createRateLimiter } from './rate-limit.js';

export function registerV2Routes(router: Router<NsState>, deps: NsApiDeps): void {
  const { sessions, servers, apiKeys } = deps;
  const limiter = createRateLimiter(deps.kv, deps.clock, {
    name: 'ns:api-session',
    limit: deps.limits?.apiSessionsPerMinute ?? defaultLimits.apiSessionsPerMinute,
    windowMs: 60_000,
  });
  const auth = requireApiKey(apiKeys);
  const role = requireRoleStep('sessions');
  const errors = mapDomainErrors();

  /** The nonce's session, if this key may see it; a session of another server reads as unknown. */
  const sessionForNonce = async (state: NsState, nonce: string): Promise<Session> => {
    const session = await sessions.findByNonce(nonce);
    if (!session || !mayActOn(principalOf(state), session.serverId))
      throw new SessionError('unknown_session');
    return session;
  };

  router.post(koaPath(ops.create), noStore, auth, role, errors, async (ctx) => {
    await limiter.hit(`${principalOf(ctx.state).keyId}:${ctx.ip}`);
    const body = await readJson(ctx, ops.create.body);
    const server = await servers.findByName(body.server);
    if (!server || !mayActOn(principalOf(ctx.state), server.id)) {
      throw problems.notFound('No such virtual server');
    }
    const { nonce, session } = await sessions.createSession({
      server: server.name,
      userAgent: body.userAgent ?? ctx.get('user-agent'),
      ip: body.ip ?? ctx.ip,
      ...(body.sessionInfo !== undefined ? { info: body.sessionInfo } : {}),
    });
    ctx.status = 201;
    ctx.body = {
      nonce,
      server: session.serverName,
      state: session.state,
      expiresAt: session.expiresAt.toISOString(),
    };
  });

  router.get(koaPath(ops.get), noStore, auth, role, errors, async (ctx) => {
    const nonce = nonceHeader((n) => ctx.get(n));
    // The row just read for the scope check is the answer: reading it again would only add a statement.
    ctx.body = toLoginStatus(await sessionForNonce(ctx.state, nonce), deps.clock.now());
  });

  router.post(koaPath(ops.logout), noStore, auth, role, errors, async (ctx) => {
    const nonce = nonceHeader((n) => ctx.get(n));
    const before = await sessionForNonce(ctx.state, nonce);
    const wasActive = ['waiting', 'scanned', 'loggedin'].includes(effectiveState(before, deps.clock.now()));
    const status = await sessions.logout(nonce);
    // Only a logout that ended the session is an event; the transition has committed by now.
    if (wasActive && status.state === 'loggedout') {
      await deps.audit.record({
        type: 'session.logout',
        server: { id: before.serverId, name: before.serverName },
        ...auditContextOf(ctx),
        subject:
          before.userid !== null ? { kind: 'user', id: before.userid } : { kind: 'session', id: before.id },
        details: {
          session: before.id,
          state: before.state,
          ...(before.accountId !== null ? { account: before.accountId } : {}),
        },
      });
    }
    ctx.body = status;
  });

  router.get(koaPath(ops.qr), noStore, auth, role, errors, async (ctx) => {
    const nonce = nonceHeader((n) => ctx.get(n));
    const query = ops.qr.query.safeParse({ ...ctx.query });
    if (!query.success) throw problems.badRequest('img must be svg or png');
    const session = await sessionForNonce(ctx.state, nonce);
    const lc = await sessions.currentLoginCode(nonce, session);
    const { img } = query.data;
    ctx.body = {
      qrData: lc.qrData,
      qrUri: lc.qrUri,
      expiresAt: lc.expiresAt.toISOString(),
      refreshAt: lc.refreshAt.toISOString(),
      ...(img ? { img: await qrImageDataUrl(lc.qrUri, img) } : {}),
    };
  });

  router.get(koaPath(ops.qrPng), noStore, auth, role, errors, async (ctx) => {
    const nonce = nonceHeader((n) => ctx.get(n));
    const session = await sessionForNonce(ctx.state, nonce);
    const lc = await sessions.currentLoginCode(nonce, session);
    ctx.set('X-Refresh-At', lc.refreshAt.toISOString());
    ctx.type = 'image/png';
    ctx.body = await qrImagePng(lc.qrUri);
  });
}
