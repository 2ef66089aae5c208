// NS REST v2 push login (`provokeLogin`): an authenticated integrator pushes a session's login to a phone.
import type Router from '@koa/router';
import { readJson } from '../../common/http/body.js';
import { mayActOn } from '../apikeys/model.js';
import { SessionError } from '../sessions/errors.js';
import { effectiveState } from '../sessions/model.js';
import { auditContextOf } from './audit-context.js';
import { type NsState, nonceHeader, principalOf, requireApiKey, requireRoleStep } from './auth.js';
import type { NsApiDeps } from './context.js';
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
        target: body.userid !== undefined ? { userid: body.userid } : { accountId: body.accountid ?? '' },
        actor,
        origin: { ip, userAgent },
      });
      ctx.body = { ...pushed, expiresAt: new Date(pushed.expiresAt).toISOString() };
    },
  );
}
