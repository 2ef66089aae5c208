// The embedded-mode landing page: what is running and where to go next.
import { readFileSync } from 'node:fs';
import Router from '@koa/router';
import type { Config } from '../../auth-server/common/config/index.js';
import { renderTemplate, viewPath } from '../views.js';

export function homeRouter(config: Config): Router {
  const template = readFileSync(viewPath('home.html'), 'utf8');
  const html = renderTemplate(template, {
    publicUrl: config.publicUrl,
    adminUrl: `http://${config.adminHost}:${config.adminPort}`,
  });
  const router = new Router();
  router.get('/', (ctx) => {
    ctx.type = 'html';
    ctx.set(
      'Content-Security-Policy',
      "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:",
    );
    ctx.body = html;
  });
  return router;
}
