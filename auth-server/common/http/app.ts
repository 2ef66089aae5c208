// The koa application every HTTP listener starts from: request ids, access logs, metrics, problem JSON,
// and standard security headers.
import { randomUUID } from 'node:crypto';
import Koa from 'koa';
import type { Logger } from '../logging.js';
import type { Metrics } from '../metrics.js';
import { problemMiddleware } from './problem-middleware.js';

export interface AppState {
  requestId: string;
  log: Logger;
}

export type App = Koa<AppState>;

export function createHttpApp(options: { logger: Logger; metrics?: Metrics; proxy?: boolean }): App {
  const app = new Koa<AppState>({ proxy: options.proxy ?? false });
  const { logger, metrics } = options;
  // Koa's own error printing would bypass pino; our middleware handles every error.
  app.silent = true;
  app.use(async (ctx, next) => {
    const started = process.hrtime.bigint();
    const requestId = randomUUID();
    ctx.state.requestId = requestId;
    ctx.state.log = logger.child({ requestId });
    ctx.set('X-Request-Id', requestId);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('X-Frame-Options', 'DENY');
    try {
      await next();
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      // Route templates (not raw paths) keep label cardinality bounded.
      const route = (ctx as { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
      const labels = { method: ctx.method, route: String(route), status: String(ctx.status) };
      metrics?.httpDuration.observe(labels, seconds);
      metrics?.httpRequests.inc(labels);
      ctx.state.log.debug(
        { method: ctx.method, path: ctx.path, status: ctx.status, ms: seconds * 1000 },
        'http',
      );
    }
  });
  app.use(problemMiddleware(logger));
  return app;
}
