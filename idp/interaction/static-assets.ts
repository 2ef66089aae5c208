// Serves the pages' own scripts and styles from views/static (a fixed list: no path from the URL reaches the
// file system).
import { readFileSync } from 'node:fs';
import Router from '@koa/router';
import { viewPath } from '../views.js';

const types: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};
const files = [
  'login.js',
  'login-core.js',
  'login-push.js',
  'loggedin.js',
  'login.css',
  'nextauth-login-block.js',
  'nextauth-session-footer.js',
  'embed-demo.js',
  'branding.js',
  'devices.js',
  'devices-enrol.js',
  'recover.js',

  'enrol.js',
  'enrol-core.js',
  'nextauth-enrol-block.js',
  'saml-post.js',
] as const;

export function staticAssetsRouter(): Router {
  const assets = new Map(
    files.map((name) => [
      name,
      {
        body: readFileSync(viewPath(`static/${name}`)),
        type: types[name.slice(name.lastIndexOf('.'))] ?? 'application/octet-stream',
      },
    ]),
  );
  const router = new Router();
  // Browsers ask for it on every page; an empty answer beats a logged 404.
  router.get('/favicon.ico', (ctx) => {
    ctx.status = 204;
  });
  router.get('/static/:file', (ctx) => {
    const asset = assets.get(ctx.params.file as (typeof files)[number]);
    if (!asset) return;
    ctx.type = asset.type;
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.body = asset.body;
  });
  return router;
}
