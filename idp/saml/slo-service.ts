// The logout side of the SAML front door: a LogoutRequest ends the browser's IdP session — and through its
// end handlers the OIDC sessions and other participants — when it names a SAML participant of that session;
// otherwise it changes nothing and the SP hears UnknownPrincipal.
import type { Context } from 'koa';
import type { Clock, Random } from '../../auth-server/common/clock.js';
import type { Logger } from '../../auth-server/common/logging.js';
import type { IdpSessions } from '../session/types.js';
import { SamlError } from './errors.js';
import type { SamlKeyStore } from './keys.js';
import type { PostMessage, RedirectMessage } from './request-decode.js';
import {
  logoutResponse,
  logoutTickets,
  type OutgoingMessage,
  readLogoutRequest,
  sloEndpoint,
} from './slo.js';
import type { SpRepository } from './sps.js';
import type { SamlUrls } from './sso.js';
import type { SamlStore } from './store.js';

export function createSlo(deps: {
  urls: SamlUrls;
  secretKey: string;
  sps: SpRepository;
  keys: SamlKeyStore;
  store: SamlStore;
  sessions: IdpSessions;
  clock: Clock;
  random: Random;
  logger: Logger;
}) {
  const { urls, sps, keys, store, sessions, clock, random, logger } = deps;
  const tickets = logoutTickets(deps.secretKey, clock);

  return {
    /** Checks the request and uses its ID up; returns where the browser continues. */
    async start(server: string, message: RedirectMessage | PostMessage): Promise<string> {
      const info = await readLogoutRequest(message, {
        sloUrl: urls.slo(server),
        clock,
        findSp: (entityId) => sps.get(server, entityId),
      });
      const sp = await sps.get(server, info.spEntityId);
      if (!sp || !sloEndpoint(sp)) throw new SamlError('unsupported', 'The SP has no SingleLogoutService');
      if (!(await store.useRequestId(server, sp.entityId, info.id)))
        throw new SamlError('replayed', 'This LogoutRequest was used before');
      return `/saml/${server}/slo/done?t=${tickets.issue(server, info)}`;
    },

    /** Ends the session when the request names this browser's; the LogoutResponse either way. */
    async finish(ctx: Context, server: string, ticket: string): Promise<OutgoingMessage | undefined> {
      const info = tickets.open(server, ticket);
      if (!info) return undefined;
      const sp = await sps.get(server, info.spEntityId);
      if (!sp) return undefined;
      const session = await sessions.current(ctx, server);
      const participant = session
        ? (await sessions.participants(session)).find(
            (p) =>
              p.protocol === 'saml' &&
              p.spEntityId === sp.entityId &&
              p.nameId === info.nameId &&
              (info.sessionIndexes.length === 0 || info.sessionIndexes.includes(p.sessionIndex)),
          )
        : undefined;
      if (session && participant) {
        await sessions.end(session, 'saml_logout', { ctx, except: participant });
        logger.info({ event: 'saml_logout', server, sp: sp.entityId, userid: session.userid }, 'SAML logout');
      } else {
        logger.info(
          { event: 'saml_logout_unmatched', server, sp: sp.entityId },
          'LogoutRequest names no session here',
        );
      }
      return logoutResponse({
        idpEntityId: urls.entityId(server),
        sp,
        inResponseTo: info.id,
        success: participant !== undefined,
        relayState: info.relayState,
        now: clock.now(),
        keys: await keys.get(server),
        random,
      });
    },
  };
}

export type Slo = ReturnType<typeof createSlo>;
