// The self-service pages of a virtual server (issue #7): "my devices" (`/devices/{server}`, for the browser's
// logged-in NS session) and recovery with a one-time code (`/recover/{server}`). The pages are static
// markup in the request's locale; their scripts talk to the NS browser endpoints (device-routes.ts).
import { readFileSync } from 'node:fs';
import Router from '@koa/router';
import type { Context } from 'koa';
import { type Locale, messages } from '../i18n/catalogue.js';
import { renderTemplate, viewPath } from '../views.js';
import { pageLocale, serverName, setPageHeaders } from './login-routes.js';

const templates = new Map<string, string>();

function render(file: string, values: { server: string; locale: Locale }): string {
  let template = templates.get(file);
  if (template === undefined) {
    template = readFileSync(viewPath(file), 'utf8');
    templates.set(file, template);
  }
  return renderTemplate(template, { lang: values.locale, server: values.server }, messages(values.locale));
}

export function devicesPage(values: { server: string; locale: Locale }): string {
  return render('devices.html', values);
}

export function recoverPage(values: { server: string; locale: Locale }): string {
  return render('recover.html', values);
}

export function devicePagesRouter(): Router {
  const router = new Router();
  const page = (ctx: Context, make: (values: { server: string; locale: Locale }) => string) => {
    const server = String(ctx.params.server);
    if (!serverName.test(server)) return;
    setPageHeaders(ctx);
    // Nothing to gain from a Referer: the pages' requests go to this origin only.
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.body = make({ server, locale: pageLocale(ctx) });
  };
  router.get('/devices/:server', (ctx) => page(ctx, devicesPage));
  router.get('/recover/:server', (ctx) => page(ctx, recoverPage));
  return router;
}
