// The SAML front door as the runtime mounts it: keys, SPs and waiting requests in the IdP database, the
// routes of every virtual server, and a sweep of expired request IDs and waiting requests.
import type Router from '@koa/router';
import type { Knex } from 'knex';
import type { Context } from 'koa';
import type { Clock, Random } from '../../auth-server/common/clock.js';
import type { Logger } from '../../auth-server/common/logging.js';
import type { NsPeer } from '../../auth-server/common/peers.js';
import { createNsLoginCollector } from '../interaction/ns-login.js';
import { clearIdpCookie } from '../session/cookie.js';
import type { IdpSessionService } from '../session/service.js';
import { createSamlKeyStore, type SamlKeyStore } from './keys.js';
import { createLogoutStore } from './logout-store.js';
import { samlRouter } from './routes.js';
import { chainCookieName, createSlo, parseChainCookie } from './slo-service.js';
import { createSpRepository, type SpRepository } from './sps.js';
import { createSso, samlUrls } from './sso.js';
import { createSamlStore } from './store.js';

export interface SamlFrontDoorDeps {
  publicUrl: string;
  secretKey: string;
  knex: Knex;
  ns: NsPeer;
  sessions: IdpSessionService;
  clock: Clock;
  random: Random;
  logger: Logger;
  /** Deletion of expired rows; default every 10 minutes, 0 = never. */
  sweepEveryMs?: number;
  /** How long a logout hop waits for an SP to answer the browser; default 10 s. */
  hopTimeoutMs?: number;
}

export interface SamlFrontDoor {
  router: Router;
  sps: SpRepository;
  keys: SamlKeyStore;
  /**
   * Where a browser that came back to the IdP's logout page in the middle of a logout chain continues (the chain
   * cookie names it): the chain's next step, which records the SP it left for as not answering. Undefined when
   * there is no live chain (the stale cookie is cleared).
   */
  resumeLogout(ctx: Context): Promise<string | undefined>;
  close(): Promise<void>;
}

export function createSamlFrontDoor(deps: SamlFrontDoorDeps): SamlFrontDoor {
  const logger = deps.logger.child({ component: 'saml' });
  const urls = samlUrls(deps.publicUrl);
  const keys = createSamlKeyStore({
    knex: deps.knex,
    secretKey: deps.secretKey,
    clock: deps.clock,
    random: deps.random,
  });
  const sps = createSpRepository({ knex: deps.knex, clock: deps.clock });
  const store = createSamlStore({ knex: deps.knex, clock: deps.clock });
  const logouts = createLogoutStore({ knex: deps.knex, clock: deps.clock });
  const sso = createSso({
    urls,
    secretKey: deps.secretKey,
    sps,
    keys,
    store,
    sessions: deps.sessions,
    ns: deps.ns,
    clock: deps.clock,
    random: deps.random,
    logger,
  });
  const slo = createSlo({
    urls,
    secretKey: deps.secretKey,
    sps,
    keys,
    store,
    logouts,
    sessions: deps.sessions,
    clock: deps.clock,
    random: deps.random,
    logger,
  });
  // Another front door (or /logout) ended a session this SP had joined. With the browser there, the caller
  // walks it through the chain of LogoutRequests (`frontChannel`); without one (NS logout, a removed device,
  // a replaced login) an SP can only be told over the front channel, so it keeps its own session until that
  // expires: logged for the operator.
  deps.sessions.onEnd('saml', async (session, participant, cause, how) => {
    if (participant.protocol !== 'saml' || how?.browser) return;
    logger.info(
      { event: 'saml_participant_ended', server: session.server, sp: participant.spEntityId, cause },
      'IdP session ended without a browser; SAML SP not notified',
    );
  });
  deps.sessions.onFrontChannel('saml', (session, participants, returnTo) =>
    slo.begin(session, participants, returnTo),
  );
  const secureCookies = deps.publicUrl.startsWith('https://');
  const router = samlRouter({
    urls,
    secureCookies,
    hopTimeoutMs: deps.hopTimeoutMs ?? 10_000,
    slo,
    sso,
    sps,
    keys,
    ns: deps.ns,
    collector: createNsLoginCollector({ ns: deps.ns, knex: deps.knex, clock: deps.clock }),
    clock: deps.clock,
    logger,
  });
  const sweepEveryMs = deps.sweepEveryMs ?? 600_000;
  const timer =
    sweepEveryMs > 0
      ? setInterval(() => {
          Promise.all([store.sweep(), logouts.sweep((server, chain) => slo.expire(server, chain))]).catch(
            (err) => logger.warn({ err: { name: (err as Error).name } }, 'SAML sweep failed'),
          );
        }, sweepEveryMs)
      : undefined;
  timer?.unref();
  return {
    router,
    sps,
    keys,
    async resumeLogout(ctx) {
      const chain = parseChainCookie(ctx.cookies.get(chainCookieName));
      if (chain && (await slo.resumable(chain.server, chain.id)))
        return `/saml/${chain.server}/slo/next?c=${chain.id}`;
      if (ctx.cookies.get(chainCookieName) !== undefined)
        ctx.append('Set-Cookie', clearIdpCookie(chainCookieName, { secure: secureCookies }));
      return undefined;
    },
    async close() {
      if (timer) clearInterval(timer);
    },
  };
}
