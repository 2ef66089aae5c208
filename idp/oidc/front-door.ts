// The OIDC front door as the runtime mounts it: the interaction pages (a router) and every other request
// under `/oidc/{server}` handed to that server's provider (a middleware placed after the routers).
import type Router from '@koa/router';
import type { Knex } from 'knex';
import type { Middleware } from 'koa';
import type { Clock, Random } from '../../auth-server/common/clock.js';
import type { OutboundClient } from '../../auth-server/common/http/outbound.js';
import type { Kv } from '../../auth-server/common/kv/kv.js';
import type { Logger } from '../../auth-server/common/logging.js';
import type { NsPeer } from '../../auth-server/common/peers.js';
import { subscribeTransactionAnswers } from '../../auth-server/common/transaction-answers.js';
import { renderErrorPage } from '../interaction/error-page.js';
import { serverName } from '../interaction/login-routes.js';
import { createNsLoginCollector, nsLoginClaimsTable } from '../interaction/ns-login.js';
import { oidcInteractionPath, oidcInteractionRouter } from '../interaction/oidc-routes.js';
import type { IdpSessionService } from '../session/service.js';
import { sweepExpiredPayloads } from './adapter.js';
import { endOidcSessionByUid, handOver } from './internals.js';
import { outboundFetch } from './outbound-fetch.js';
import type { OidcStorage } from './provider.js';
import { createOidcRegistry, type OidcRegistry } from './registry.js';
import { checkRequestLimits } from './request-limits.js';

export interface OidcFrontDoorDeps {
  publicUrl: string;
  secretKey: string;
  trustProxy: boolean;
  /** Resource servers whose access tokens are JWTs (NEXTAUTH_OIDC_RESOURCES); default none. */
  resources?: readonly string[];
  /** The IdP database. */
  knex: Knex;
  /** Where codes, tokens, sessions and grants live (NEXTAUTH_OIDC_STORAGE); default the IdP database. */
  storage?: OidcStorage;
  ns: NsPeer;
  /** Outbound calls (back-channel logout), allow-listed per DESIGN.md §6. */
  outbound: OutboundClient;
  clock: Clock;
  random: Random;
  logger: Logger;
  /** Re-check of cached providers (keys rotated elsewhere); default 30 s. */
  refreshMs?: number;
  /** Deletion of expired rows; default every 10 minutes, 0 = never. */
  sweepEveryMs?: number;
  /** The IdP sessions shared by the front doors (DESIGN.md §4). */
  idpSessions?: IdpSessionService;
  /** The shared KV: with it OIDC CIBA is on, finished when NS announces a transaction's answer. */
  kv?: Kv;
}

export interface OidcFrontDoor {
  registry: OidcRegistry;
  /** The interaction pages; mount with the other routers. */
  router: Router;
  /** Hands `/oidc/{server}/...` to the provider; mount after the routers. */
  middleware: Middleware;
  close(): Promise<void>;
}

const mounted = /^\/oidc\/([^/]+)(?:\/|$)/;

export function createOidcFrontDoor(deps: OidcFrontDoorDeps): OidcFrontDoor {
  const logger = deps.logger.child({ component: 'oidc' });
  const registry = createOidcRegistry({
    publicUrl: deps.publicUrl,
    secretKey: deps.secretKey,
    trustProxy: deps.trustProxy,
    resources: deps.resources ?? [],
    knex: deps.knex,
    ...(deps.storage && { storage: deps.storage }),
    clock: deps.clock,
    random: deps.random,
    logger,
    ns: deps.ns,
    fetch: outboundFetch(deps.outbound),
    ...(deps.refreshMs !== undefined ? { refreshMs: deps.refreshMs } : {}),
    ...(deps.idpSessions ? { idpSessions: deps.idpSessions } : {}),
    ...(deps.kv ? { kv: deps.kv } : {}),
    interactionPath: oidcInteractionPath,
    // Errors shown to the browser (e.g. an unregistered redirect_uri): a page, never a redirect.
    renderError: (ctx, out) =>
      renderErrorPage(ctx, Math.max(ctx.status, 400), {
        error: out.error,
        description: out.error_description,
      }),
  });
  const router = oidcInteractionRouter({
    providers: registry,
    ns: deps.ns,
    collector: createNsLoginCollector({ ns: deps.ns, knex: deps.knex, clock: deps.clock }),
    logger,
    ...(deps.idpSessions ? { idpSessions: deps.idpSessions } : {}),
  });
  // The IdP session ended elsewhere (`/logout`, SAML, another user's login): the oidc-provider session that
  // joined it ends as a confirmed RP-initiated logout would, back-channel logout tokens included.
  deps.idpSessions?.onEnd('oidc', async (session, participant, cause) => {
    if (participant.protocol !== 'oidc') return;
    const entry = await registry.get(session.server);
    if (!entry) return;
    if (await endOidcSessionByUid(entry.provider, participant.sessionUid))
      logger.info(
        { event: 'oidc_session_ended', server: session.server, cause },
        'OIDC session ended with the IdP session',
      );
  });

  const middleware: Middleware = async (ctx, next) => {
    const server = mounted.exec(ctx.path)?.[1];
    if (server === undefined || !serverName.test(server)) return next();
    const entry = await registry.get(server);
    if (!entry) return next();
    // For metrics and access logs: one label for everything the provider serves.
    (ctx as { _matchedRoute?: string })._matchedRoute = '/oidc/:server/*';
    const tooLarge = checkRequestLimits(ctx);
    if (tooLarge) {
      // A browser (GET) gets the error page, never a redirect; a client posting to an endpoint gets the
      // OAuth error JSON it understands.
      const error = { error: 'invalid_request', description: tooLarge.description };
      if (ctx.method === 'GET' || ctx.method === 'HEAD') renderErrorPage(ctx, tooLarge.status, error);
      else {
        ctx.status = tooLarge.status;
        ctx.set('Cache-Control', 'no-store');
        ctx.body = { error: error.error, error_description: error.description };
      }
      ctx.set('Connection', 'close');
      return;
    }
    ctx.respond = false;
    await handOver(entry.handle, ctx.req, ctx.res, `/oidc/${server}`);
  };

  // NS → IdP: a phone answered a transaction; the CIBA request made from it (if any) is finished. Every
  // instance hears it; `finish` lets one of them act.
  const answers = deps.kv
    ? subscribeTransactionAnswers(deps.kv, (answer) => {
        registry
          .get(answer.server)
          .then((entry) => entry?.ciba?.finish(entry.provider, answer.tid))
          .catch((err: unknown) =>
            logger.error(
              { err, server: answer.server, transaction: answer.tid },
              'CIBA request not finished on the answer of its transaction',
            ),
          );
      }).catch((err: unknown) => {
        logger.error({ err }, 'no subscription to transaction answers: CIBA requests will expire');
        return undefined;
      })
    : undefined;

  const sweepEveryMs = deps.sweepEveryMs ?? 600_000;
  const sweep = async () => {
    const now = deps.clock.now();
    const payloads = await sweepExpiredPayloads(deps.knex, now);
    const claims = Number(await deps.knex(nsLoginClaimsTable).where('expires_at', '<=', now).delete());
    if (payloads + claims > 0) logger.debug({ payloads, claims }, 'expired OIDC rows deleted');
  };
  const timer =
    sweepEveryMs > 0
      ? setInterval(() => {
          sweep().catch((err) => logger.warn({ err: { name: (err as Error).name } }, 'OIDC sweep failed'));
        }, sweepEveryMs)
      : undefined;
  timer?.unref();

  return {
    registry,
    router,
    middleware,
    async close() {
      if (timer) clearInterval(timer);
      const stop = await answers?.catch(() => undefined);
      await stop?.();
    },
  };
}
