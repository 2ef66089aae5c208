// The login pages of the IdP: the QR login block of a virtual server and the page after a successful login,
// rendered in the locale the request asks for (`ui_locales`, else Accept-Language, else English).
import { readFileSync } from 'node:fs';
import Router from '@koa/router';
import type { Context } from 'koa';
import { format, type Locale, messages } from '../i18n/catalogue.js';
import { chooseLocale } from '../i18n/negotiate.js';
import { renderTemplate, viewPath } from '../views.js';
import { type FrontDoorLoginDeps, frontDoorLogin } from './front-door-login.js';

// Same rule as NS server names: the name is put into the page and into URLs.
export const serverName = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Only our own scripts and styles, no framing: the QR must not be shown inside someone else's page. */
export const pageCsp =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/** The locale of a page request: `ui_locales` of the query (or of the OIDC request), else Accept-Language. */
export function pageLocale(ctx: Pick<Context, 'get' | 'query'>, uiLocales?: unknown): Locale {
  const fromQuery = ctx.query.ui_locales;
  const requested =
    typeof uiLocales === 'string' ? uiLocales : typeof fromQuery === 'string' ? fromQuery : undefined;
  return chooseLocale({ uiLocales: requested, acceptLanguage: ctx.get('accept-language') });
}

export interface LoginPageValues {
  server: string;
  /** Set when the page serves an OIDC interaction (see oidc-routes.ts), else empty. */
  complete: string;
  /** Displayed only; empty for none. */
  loginHint: string;
  locale: Locale;
  /**
   * A login for a front door other than OIDC (see front-door-login.ts): sent back to `complete` with the
   * login, which answers where to go. Empty for none.
   */
  returnTo?: string;
  /** Step-up: the login must be younger than this many seconds (decimal string; empty for none). */
  maxAge?: string;
}

/** The QR login page of a server in `locale`. */
export function loginPage(values: LoginPageValues): string {
  loginTemplate ??= readFileSync(viewPath('login.html'), 'utf8');
  const text = messages(values.locale);
  return renderTemplate(
    loginTemplate,
    {
      lang: values.locale,
      server: values.server,
      complete: values.complete,
      loginHint: values.loginHint,
      loginHintText: values.loginHint ? format(text.loginAs, { name: values.loginHint }) : '',
      appLink: '',
      returnTo: values.returnTo ?? '',
      maxAge: values.maxAge ?? '',
    },
    text,
  );
}
let loginTemplate: string | undefined;

/** The page after a login outside OIDC: who this browser is logged in as. */
export function loggedInPage(values: { server: string; locale: Locale }): string {
  loggedInTemplate ??= readFileSync(viewPath('loggedin.html'), 'utf8');
  return renderTemplate(
    loggedInTemplate,
    { lang: values.locale, server: values.server },
    messages(values.locale),
  );
}
let loggedInTemplate: string | undefined;

/**
 * The markup of the embeddable login block (nextauth-login-block.js puts it into the host page): the login
 * page's views without the page around them, and without ids, so it cannot clash with the host's.
 */
export function loginBlock(values: { server: string; locale: Locale }): string {
  blockTemplate ??= readFileSync(viewPath('login-block.html'), 'utf8');
  return renderTemplate(blockTemplate, { server: values.server }, messages(values.locale));
}
let blockTemplate: string | undefined;

/** A host page of the kind integrators write, with the login block and the session footer in it. */
export function embedDemoPage(values: { server: string; locale: Locale }): string {
  embedDemoTemplate ??= readFileSync(viewPath('embed-demo.html'), 'utf8');
  return renderTemplate(
    embedDemoTemplate,
    { lang: values.locale, server: values.server },
    messages(values.locale),
  );
}
let embedDemoTemplate: string | undefined;

/** Headers every page shares: strict CSP, not stored, and a language that varies with the request. */
export function setPageHeaders(ctx: Pick<Context, 'set' | 'vary' | 'type'>): void {
  ctx.set('Content-Security-Policy', pageCsp);
  ctx.set('Cache-Control', 'no-store');
  ctx.vary('Accept-Language');
  ctx.type = 'html';
}

export function loginRouter(options: { defaultServer: string; frontDoor?: FrontDoorLoginDeps }): Router {
  const router = new Router();
  const frontDoor = options.frontDoor ? frontDoorLogin(options.frontDoor) : undefined;
  const page = (ctx: Context, render: (server: string, locale: Locale) => string) => {
    const server = String(ctx.params.server);
    if (!serverName.test(server)) return;
    setPageHeaders(ctx);
    ctx.body = render(server, pageLocale(ctx));
  };
  router.get('/login', (ctx) => {
    // The language choice survives the redirect.
    const ui = typeof ctx.query.ui_locales === 'string' ? ctx.query.ui_locales.slice(0, 64) : '';
    ctx.redirect(`/login/${options.defaultServer}${ui ? `?ui_locales=${encodeURIComponent(ui)}` : ''}`);
  });
  router.get('/login/:server', async (ctx) => {
    // `?return_to=` (and step-up's `?max_age=`): a front door other than OIDC sent the browser to log in.
    if (frontDoor && (ctx.query.return_to !== undefined || ctx.query.max_age !== undefined)) {
      await frontDoor.page(ctx);
      return;
    }
    page(ctx, (server, locale) => loginPage({ server, locale, complete: '', loginHint: '' }));
  });
  if (frontDoor) router.post('/login/:server/complete', frontDoor.complete);
  router.get('/login/:server/done', (ctx) => page(ctx, (server, locale) => loggedInPage({ server, locale })));
  // A fragment fetched by the block's script on a same-origin host page: same headers as a page.
  router.get('/login/:server/block', (ctx) => page(ctx, (server, locale) => loginBlock({ server, locale })));
  router.get('/login/:server/embed-demo', (ctx) =>
    page(ctx, (server, locale) => embedDemoPage({ server, locale })),
  );
  return router;
}
