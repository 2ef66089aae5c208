// NS REST v2 push login (`provokeLogin`): an authenticated integrator pushes a session's login to a phone.
import type Router from '@koa/router';
import { problems } from '../../common/errors.js';
import { readJson } from '../../common/http/body.js';
import { mayActOn } from '../apikeys/model.js';
import { returningUserCookieName } from '../push/returning-user.js';
import { serverNameSchema } from '../servers/model.js';
import { SessionError } from '../sessions/errors.js';
import { effectiveState } from '../sessions/model.js';
import { auditContextOf } from './audit-context.js';
import { type NsState, nonceHeader, principalOf, requireApiKey, requireRoleStep } from './auth.js';
import type { NsApiDeps } from './context.js';
import { sessionCookieName } from './cookies.js';
import { noStore } from './no-store.js';
import { koaPath } from './openapi/operation.js';
import { pushOperations as ops } from './operations/push.js';
import { mapDomainErrors } from './problems.js';
import { mapPushErrors } from './push-problems.js';

export function registerPushRoutes(router: Router<NsState>, deps: NsApiDeps): void {
  const { push } = deps;
  if (!push) return;
  router.post(
    koaPath(ops.provokeLogin),
    noStore,
    requireApiKey(deps.apiKeys),
    requireRoleStep('sessions'),
    mapDomainErrors(),
    mapPushErrors(),
    async (ctx) => {
      const nonce = nonceHeader((n) => ctx.get(n));
      const body = await readJson(ctx, ops.provokeLogin.body);
      const session = await deps.sessions.findByNonce(nonce);
      if (!session || !mayActOn(principalOf(ctx.state), session.serverId))
        throw new SessionError('unknown_session');
      const state = effectiveState(session, deps.clock.now());
      if (state === 'expired') throw new SessionError('session_expired');
      if (state !== 'waiting') throw new SessionError('invalid_state', `The login session is ${state}`);
      const server = await deps.servers.getByName(session.serverName);
      const { actor, ip, userAgent } = auditContextOf(ctx);
      const pushed = await push.provokeLogin({
        server,
        session,
        // The key the integrator acts with (also under X-su): what the per-(client, user) limit counts.
        client: principalOf(ctx.state).keyId,
        target: body.userid !== undefined ? { userid: body.userid } : { accountId: body.accountid ?? '' },
        actor,
        origin: { ip, userAgent },
      });
      ctx.body = { ...pushed, expiresAt: new Date(pushed.expiresAt).toISOString() };
    },
  );

  // The login page: "send a push" only for a browser holding the returning-user cookie of this server,
  // for the account it names, into the browser's own (nonce cookie) session.
  const { returningUsers } = deps;
  if (!returningUsers) return;
  const secure = deps.publicUrl.startsWith('https:');
  const serverOf = (ctx: { params: Record<string, string | undefined> }): string => {
    const parsed = serverNameSchema.safeParse(ctx.params.server);
    if (!parsed.success) throw problems.notFound('No such virtual server');
    return parsed.data;
  };
  const knownAccount = (ctx: { cookies: { get(name: string): string | undefined } }, server: string) =>
    returningUsers.verify(server, ctx.cookies.get(returningUserCookieName(server, secure)));

  router.get('/servers/:server/push', noStore, async (ctx) => {
    ctx.body = { available: knownAccount(ctx, serverOf(ctx)) !== undefined };
  });

  router.post('/servers/:server/session/push', noStore, mapDomainErrors(), mapPushErrors(), async (ctx) => {
    const server = serverOf(ctx);
    const accountId = knownAccount(ctx, server);
    if (accountId === undefined) throw problems.forbidden('This browser has not logged in here before');
    const nonce = ctx.cookies.get(sessionCookieName(server, secure));
    const session = nonce ? await deps.sessions.findByNonce(nonce) : undefined;
    if (!session || session.serverName !== server)
      throw problems.unauthorized('No login session in this browser');
    const state = effectiveState(session, deps.clock.now());
    if (state !== 'waiting') throw new SessionError('invalid_state', `The login session is ${state}`);
    const pushed = await push.provokeLogin({
      server: await deps.servers.getByName(server),
      session,
      target: { accountId },
      actor: { kind: 'system', id: 'login-page' },
      origin: { ip: ctx.ip || null, userAgent: ctx.get('user-agent') || null },
    });
    ctx.body = { match: pushed.match, expiresAt: new Date(pushed.expiresAt).toISOString() };
  });
}
