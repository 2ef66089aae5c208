// The enrol page of a virtual server (`/enrol/{server}#t=<view token>`) and the markup of the embeddable enrol
// block, rendered in the locale the request asks for. The view token stays in the fragment: it never reaches
// this route, the logs or a Referer; the page's script hands it to NS (`POST /ns/servers/{server}/enrol-view`).
import { readFileSync } from 'node:fs';
import Router from '@koa/router';
import type { Context } from 'koa';
import { type Locale, messages } from '../i18n/catalogue.js';
import { renderTemplate, viewPath } from '../views.js';
import { pageLocale, serverName, setPageHeaders } from './login-routes.js';

/** The enrol view's markup without the page around it, and without ids (the enrol block's fragment). */
export function enrolBlock(values: { server: string; locale: Locale }): string {
  blockTemplate ??= readFileSync(viewPath('enrol-block.html'), 'utf8');
  return renderTemplate(blockTemplate, { server: values.server }, messages(values.locale));
}
let blockTemplate: string | undefined;

/** The enrol page: the block's markup inside the login pages' card. */
export function enrolPage(values: { server: string; locale: Locale }): string {
  pageTemplate ??= readFileSync(viewPath('enrol.html'), 'utf8');
  const page = renderTemplate(
    pageTemplate,
    { lang: values.locale, server: values.server },
    messages(values.locale),
  );
  // Both halves are rendered (and escaped) already; only the marker is replaced.
  return page.replace('<!-- enrol-block -->', () => enrolBlock(values));
}
let pageTemplate: string | undefined;

export function enrolRouter(): Router {
  const router = new Router();
  const page = (ctx: Context, render: (server: string, locale: Locale) => string) => {
    const server = String(ctx.params.server);
    if (!serverName.test(server)) return;
    setPageHeaders(ctx);
    // Belt and braces next to the page's <meta>: the fragment is never sent, and neither is this URL.
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.body = render(server, pageLocale(ctx));
  };
  router.get('/enrol/:server', (ctx) => page(ctx, (server, locale) => enrolPage({ server, locale })));
  router.get('/enrol/:server/block', (ctx) => page(ctx, (server, locale) => enrolBlock({ server, locale })));
  return router;
}
