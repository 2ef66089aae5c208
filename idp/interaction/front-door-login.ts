// "Log in, then go back" for the front doors that are not OIDC (SAML, forward-auth): `GET /login/{server}
// ?return_to=<url>[&max_age=<s>]` goes straight back when the browser's IdP session suffices, else shows the
// QR login page, whose `POST /login/{server}/complete` collects the NS login, establishes the IdP session and
// answers where to go. `return_to` passes the caller's policy (no open redirect) on both requests.
import type { Context } from 'koa';
import { z } from 'zod';
import type { Clock } from '../../auth-server/common/clock.js';
import { problems } from '../../auth-server/common/errors.js';
import { readJson } from '../../auth-server/common/http/body.js';
import type { Logger } from '../../auth-server/common/logging.js';
import type { NsPeer } from '../../auth-server/common/peers.js';
import { maxReturnToLength, type ReturnToPolicy } from '../session/return-to.js';
import type { IdpSession, IdpSessions } from '../session/types.js';
import { renderErrorPage } from './error-page.js';
import { InteractionProblem, refusedProblem } from './login-problems.js';
import { loginPage, pageLocale, serverName, setPageHeaders } from './login-routes.js';
import { loginOf, type NsLoginCollector } from './ns-login.js';

export interface FrontDoorLoginDeps {
  idpSessions: IdpSessions;
  collector: NsLoginCollector;
  ns: NsPeer;
  /** Where the browser may be sent back to. */
  returnTo: ReturnToPolicy;
  clock: Clock;
  logger: Logger;
}

/** Step-up's bound: a login younger than this many seconds (OIDC's `max_age`); a year at most. */
const maxAgeSchema = z
  .number()
  .int()
  .min(0)
  .max(366 * 86400);

/** JSON only (a cross-site form cannot send it without a preflight): the same CSRF defence as OIDC's. */
const completeBody = z.strictObject({
  return_to: z.string().max(maxReturnToLength),
  max_age: maxAgeSchema.optional(),
});

/**
 * Without `max_age`, a login approved this long before `complete` still counts (as an OIDC interaction
 * lives 30 minutes): the page's own QR login is seconds old, and an older one is this browser's anyway.
 */
const loginWindowMs = 30 * 60_000;

/** The session is young enough for `maxAge` (seconds since the phone confirmed). */
export function freshEnough(session: IdpSession, maxAge: number | undefined, nowMs: number): boolean {
  return maxAge === undefined || Math.floor(nowMs / 1000) - session.authTime <= maxAge;
}

export function frontDoorLogin(deps: FrontDoorLoginDeps) {
  const { idpSessions, collector, ns, clock } = deps;
  const log = deps.logger.child({ component: 'front-door-login' });

  const refuse = (ctx: Context, description: string) =>
    renderErrorPage(ctx, 400, {
      error: 'invalid_request',
      description,
      title: 'This login link is not valid',
    });

  return {
    async page(ctx: Context): Promise<void> {
      const server = String(ctx.params.server);
      if (!serverName.test(server)) return;
      const { return_to: rawReturnTo, max_age: rawMaxAge } = ctx.query;
      const returnTo = typeof rawReturnTo === 'string' ? deps.returnTo(rawReturnTo) : undefined;
      if (!returnTo) {
        refuse(ctx, 'return_to must be a page this login may send you back to.');
        return;
      }
      let maxAge: number | undefined;
      if (rawMaxAge !== undefined) {
        const parsed =
          typeof rawMaxAge === 'string' && /^\d{1,9}$/.test(rawMaxAge)
            ? maxAgeSchema.safeParse(Number(rawMaxAge))
            : undefined;
        if (!parsed?.success) {
          refuse(ctx, 'max_age must be a number of seconds.');
          return;
        }
        maxAge = parsed.data;
      }
      if (!(await ns.findServer(server))) {
        renderErrorPage(ctx, 404, { error: 'not_found', description: 'No such virtual server.' });
        return;
      }
      const session = await idpSessions.current(ctx, server);
      if (session && freshEnough(session, maxAge, clock.now())) {
        // SSO: the browser is logged in (recently enough), so no QR.
        ctx.set('Cache-Control', 'no-store');
        ctx.redirect(returnTo);
        ctx.status = 303;
        return;
      }
      setPageHeaders(ctx);
      ctx.body = loginPage({
        server,
        locale: pageLocale(ctx),
        complete: `/login/${server}/complete`,
        loginHint: '',
        returnTo,
        maxAge: maxAge === undefined ? '' : String(maxAge),
      });
    },

    async complete(ctx: Context): Promise<void> {
      const body = await readJson(ctx, completeBody);
      const server = String(ctx.params.server);
      if (!serverName.test(server) || !(await ns.findServer(server)))
        throw problems.notFound('No such virtual server');
      const returnTo = deps.returnTo(body.return_to);
      if (!returnTo) throw problems.badRequest('return_to is not a page this login may send the browser to');
      const now = clock.now();
      const notBefore = body.max_age === undefined ? now - loginWindowMs : now - body.max_age * 1000;
      const outcome = await collector.collect(
        server,
        ctx.cookies.get(ns.browserSessionCookieName(server)),
        notBefore,
      );
      if (outcome.kind === 'refused') throw refusedProblem(outcome.reason);
      if (outcome.kind === 'declined') {
        log.info({ event: 'idp_login_declined', server }, 'login declined on the phone');
        throw new InteractionProblem(
          403,
          'forbidden',
          'login_declined',
          'The login was declined on the phone',
        );
      }
      const session = await idpSessions.establish(ctx, server, loginOf(outcome));
      log.info(
        { event: 'idp_login', server, userid: session.userid, session: session.id },
        'IdP session from NS login',
      );
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { location: returnTo };
    },
  };
}
