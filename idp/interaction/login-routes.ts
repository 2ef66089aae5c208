// The login pages of the IdP: the QR login block of a virtual server and the page after a successful login.
import { readFileSync } from 'node:fs';
import Router from '@koa/router';
import type { Context } from 'koa';
import { renderTemplate, viewPath } from '../views.js';

// Same rule as NS server names: the name is put into the page and into URLs.
export const serverName = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Only our own scripts and styles, no framing: the QR must not be shown inside someone else's page. */
export const pageCsp =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/** The QR login page of a server; `complete` is set when it serves an OIDC interaction (see oidc-routes.ts). */
export function loginPage(values: { server: string; complete: string; loginHint: string }): string {
  loginTemplate ??= readFileSync(viewPath('login.html'), 'utf8');
  return renderTemplate(loginTemplate, values);
}
let loginTemplate: string | undefined;

export function loginRouter(options: { defaultServer: string }): Router {
  const login = readFileSync(viewPath('login.html'), 'utf8');
  const loggedIn = readFileSync(viewPath('loggedin.html'), 'utf8');
  const page = (ctx: Context, template: string) => {
    const server = String(ctx.params.server);
    if (!serverName.test(server)) return;
    ctx.set('Content-Security-Policy', pageCsp);
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'html';
    ctx.body = renderTemplate(template, { server, complete: '', loginHint: '' });
  };
  const router = new Router();
  router.get('/login', (ctx) => ctx.redirect(`/login/${options.defaultServer}`));
  router.get('/login/:server', (ctx) => page(ctx, login));
  router.get('/login/:server/done', (ctx) => page(ctx, loggedIn));
  return router;
}
