// The browser-facing error page of the front doors: an HTML page with a 4xx status, never a redirect (an
// untrusted redirect_uri must not receive anything).
import { readFileSync } from 'node:fs';
import type { Context } from 'koa';
import { renderTemplate, viewPath } from '../views.js';
import { pageCsp } from './login-routes.js';

let template: string | undefined;

export interface ErrorPage {
  /** OAuth / OIDC error code or our own (`interaction_expired`). */
  error: string;
  description?: string | undefined;
  title?: string;
}

export function renderErrorPage(
  ctx: Pick<Context, 'set' | 'status' | 'type' | 'body'>,
  status: number,
  page: ErrorPage,
): void {
  template ??= readFileSync(viewPath('error.html'), 'utf8');
  ctx.status = status;
  ctx.set('Content-Security-Policy', pageCsp);
  ctx.set('Cache-Control', 'no-store');
  ctx.type = 'html';
  ctx.body = renderTemplate(template, {
    title: page.title ?? 'This request cannot be completed',
    error: page.error,
    description: page.description ?? '',
  });
}
