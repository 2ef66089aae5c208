// `{PUBLIC_URL}/logout` (DESIGN.md §5): ends every IdP session the browser holds (one cookie per virtual
// server), and with them its OIDC sessions (back-channel logout), SAML SPs and forward-auth access. GET asks
// (a link or an image must not log anyone out), POST does it — from a page of this origin only.
// `?return_to=` (an app's "log out" link) sends the browser back afterwards, under the login's rules.
import { readFileSync } from 'node:fs';
import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { readRawBody } from '../../auth-server/common/http/body.js';
import type { Logger } from '../../auth-server/common/logging.js';
import { messages } from '../i18n/catalogue.js';
import { maxReturnToLength, type ReturnToPolicy } from '../session/return-to.js';
import type { IdpSessionService } from '../session/service.js';
import type { IdpParticipant, IdpSession } from '../session/types.js';
import { renderTemplate, viewPath } from '../views.js';
import { renderErrorPage } from './error-page.js';
import { pageCsp, pageLocale, setPageHeaders } from './login-routes.js';

export interface LogoutRouterDeps {
  idpSessions: IdpSessionService;
  publicUrl: string;
  logger: Logger;
  /** Where `return_to` may send the browser after the logout: the same policy as the login's. */
  returnTo?: ReturnToPolicy;
  /**
   * A logout chain through the SAML SPs this browser left unfinished (an SP never sent it back, the user
   * pressed Back): its next step, where GET /logout continues instead of showing the logged-out page.
   */
  resumeFrontChannel?: (ctx: Context) => Promise<string | undefined>;
}

/** IdP session cookies are `nextauth_idp_<server>`; a browser holds a few at most. */
const cookiePattern = /(?:^|;\s*)nextauth_idp_([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)=/g;
const maxServers = 20;
/** The form: the button and a `return_to` (percent-encoded, so up to three times its length). */
const maxBody = 4 * maxReturnToLength;

const logoutForm = z.strictObject({
  logout: z.string().max(16).optional(),
  return_to: z.string().max(maxReturnToLength).optional(),
});

/** The servers whose IdP session cookie the request carries. */
export function idpCookieServers(cookieHeader: string): string[] {
  const servers = new Set<string>();
  for (const match of cookieHeader.matchAll(cookiePattern)) {
    if (match[1]) servers.add(match[1]);
    if (servers.size >= maxServers) break;
  }
  return [...servers];
}

const templates = new Map<string, string>();

export function logoutRouter(deps: LogoutRouterDeps): Router {
  const { idpSessions } = deps;
  const origin = new URL(deps.publicUrl).origin;
  const log = deps.logger.child({ component: 'logout' });
  const router = new Router();

  const render = (ctx: Context, name: 'logout.html' | 'loggedout.html', returnTo = '') => {
    let template = templates.get(name);
    if (template === undefined) {
      template = readFileSync(viewPath(name), 'utf8');
      templates.set(name, template);
    }
    const locale = pageLocale(ctx);
    setPageHeaders(ctx);
    // Browsers hold a form's redirect to CSP form-action too: the checked return_to's origin is allowed.
    if (returnTo) ctx.set('Content-Security-Policy', `${pageCsp} ${new URL(returnTo).origin}`);
    ctx.body = renderTemplate(template, { lang: locale, returnTo }, messages(locale));
  };

  /** The checked `return_to`: '' when absent, undefined (after a 400 page) when it must be refused. */
  const checkedReturnTo = (ctx: Context, raw: unknown): string | undefined => {
    if (raw === undefined || raw === '') return '';
    const safe = typeof raw === 'string' ? deps.returnTo?.(raw) : undefined;
    if (safe !== undefined) return safe;
    renderErrorPage(ctx, 400, {
      error: 'invalid_request',
      title: 'This logout link is not valid',
      description: 'return_to must be a page this logout may send you back to.',
    });
    return undefined;
  };

  const goBack = (ctx: Context, returnTo: string) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.redirect(returnTo);
    ctx.status = 303;
  };

  router.get('/logout', async (ctx) => {
    const returnTo = checkedReturnTo(ctx, ctx.query.return_to);
    if (returnTo === undefined) return;
    if (idpCookieServers(ctx.get('cookie')).length > 0) return render(ctx, 'logout.html', returnTo);
    const resumed = await deps.resumeFrontChannel?.(ctx);
    if (resumed) goBack(ctx, resumed);
    // Nothing to end: straight back, no question.
    else if (returnTo) goBack(ctx, returnTo);
    else render(ctx, 'loggedout.html');
  });

  router.post('/logout', async (ctx) => {
    // CSRF: browsers send Origin with every form POST; only a page of this origin may log the user out.
    if (ctx.get('origin') !== origin) {
      renderErrorPage(ctx, 403, {
        error: 'invalid_request',
        description: 'The form was not sent from this site.',
      });
      return;
    }
    if (!ctx.is('application/x-www-form-urlencoded')) {
      renderErrorPage(ctx, 415, { error: 'invalid_request', description: 'Expected a form.' });
      return;
    }
    const form = logoutForm.safeParse(
      Object.fromEntries(new URLSearchParams((await readRawBody(ctx, maxBody)).toString('utf8'))),
    );
    if (!form.success) {
      renderErrorPage(ctx, 400, { error: 'invalid_request', description: 'Unexpected form fields.' });
      return;
    }
    // Checked before anything ends: a refused return_to logs nobody out.
    const returnTo = checkedReturnTo(ctx, form.data.return_to);
    if (returnTo === undefined) return;
    const ended: { session: IdpSession; participants: IdpParticipant[] }[] = [];
    for (const server of idpCookieServers(ctx.get('cookie'))) {
      const session = await idpSessions.current(ctx, server);
      if (session) {
        ended.push({ session, participants: await idpSessions.end(session, 'logout', { ctx }) });
        log.info({ event: 'idp_logout', server, session: session.id }, 'IdP session ended by the user');
      } else idpSessions.clearCookie(ctx, server);
    }
    // Front-channel participants (SAML SPs) are told through the browser: a chain per server, each one
    // ending where the next begins, the last at return_to or the logged-out page (GET /logout, no cookie
    // left).
    const last = returnTo || '/logout';
    let next = last;
    for (const { session, participants } of ended.reverse())
      next = (await idpSessions.frontChannel(session, participants, next)) ?? next;
    if (next !== '/logout') goBack(ctx, next);
    else render(ctx, 'loggedout.html');
  });

  return router;
}
