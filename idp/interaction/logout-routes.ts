// `{PUBLIC_URL}/logout` (DESIGN.md §5): ends every IdP session the browser holds (one cookie per virtual
// server), and with them its OIDC sessions (back-channel logout), SAML SPs and forward-auth access. GET asks
// (a link or an image must not log anyone out), POST does it — from a page of this origin only.
import { readFileSync } from 'node:fs';
import Router from '@koa/router';
import type { Context } from 'koa';
import { readRawBody } from '../../auth-server/common/http/body.js';
import type { Logger } from '../../auth-server/common/logging.js';
import { messages } from '../i18n/catalogue.js';
import type { IdpSessionService } from '../session/service.js';
import type { IdpParticipant, IdpSession } from '../session/types.js';
import { renderTemplate, viewPath } from '../views.js';
import { renderErrorPage } from './error-page.js';
import { pageLocale, setPageHeaders } from './login-routes.js';

export interface LogoutRouterDeps {
  idpSessions: IdpSessionService;
  publicUrl: string;
  logger: Logger;
}

/** IdP session cookies are `nextauth_idp_<server>`; a browser holds a few at most. */
const cookiePattern = /(?:^|;\s*)nextauth_idp_([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)=/g;
const maxServers = 20;
const maxBody = 256;

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

  const render = (ctx: Context, name: 'logout.html' | 'loggedout.html') => {
    let template = templates.get(name);
    if (template === undefined) {
      template = readFileSync(viewPath(name), 'utf8');
      templates.set(name, template);
    }
    const locale = pageLocale(ctx);
    setPageHeaders(ctx);
    ctx.body = renderTemplate(template, { lang: locale }, messages(locale));
  };

  router.get('/logout', (ctx) => {
    render(ctx, idpCookieServers(ctx.get('cookie')).length > 0 ? 'logout.html' : 'loggedout.html');
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
    await readRawBody(ctx, maxBody);
    const ended: { session: IdpSession; participants: IdpParticipant[] }[] = [];
    for (const server of idpCookieServers(ctx.get('cookie'))) {
      const session = await idpSessions.current(ctx, server);
      if (session) {
        ended.push({ session, participants: await idpSessions.end(session, 'logout', { ctx }) });
        log.info({ event: 'idp_logout', server, session: session.id }, 'IdP session ended by the user');
      } else idpSessions.clearCookie(ctx, server);
    }
    // Front-channel participants (SAML SPs) are told through the browser: a chain per server, each one
    // ending where the next begins, the last at the logged-out page (GET /logout, no cookie left).
    let next = '/logout';
    for (const { session, participants } of ended.reverse())
      next = (await idpSessions.frontChannel(session, participants, next)) ?? next;
    if (next !== '/logout') {
      ctx.redirect(next);
      ctx.status = 303;
      ctx.set('Cache-Control', 'no-store');
      return;
    }
    render(ctx, 'loggedout.html');
  });

  return router;
}
