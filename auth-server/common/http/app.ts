// The koa application every HTTP listener starts from: request ids, access logs, metrics, problem JSON,
// and standard security headers.
import { randomUUID } from 'node:crypto';
import Koa, { type Context, type Middleware } from 'koa';
import type { Logger } from '../logging.js';
import type { Metrics } from '../metrics.js';
import { problemMiddleware } from './problem-middleware.js';

export interface AppState {
  requestId: string;
  log: Logger;
}

export type App = Koa<AppState>;

/**
 * `ctx.state` of every request. The request's logger is made on first use: most requests never log, and a
 * pino child (bindings serialised, redaction set up) is a measurable part of a small request. A class, not
 * a per-request closure: nothing is allocated for it unless it is used.
 */
class RequestState implements AppState {
  #log: Logger | undefined;

  constructor(
    readonly requestId: string,
    private readonly logger: Logger,
  ) {}

  get log(): Logger {
    this.#log ??= this.logger.child({ requestId: this.requestId });
    return this.#log;
  }

  set log(log: Logger) {
    this.#log = log;
  }
}

/** The headers every answer carries (browsers may render any of them). */
export function setSecurityHeaders(ctx: Context): void {
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('Referrer-Policy', 'no-referrer');
  ctx.set('X-Frame-Options', 'DENY');
}

export function createHttpApp(options: {
  logger: Logger;
  metrics?: Metrics;
  proxy?: boolean;
  /**
   * Middleware that runs before the common one (request id, access log, HTTP metrics, problem JSON,
   * security headers), for the few hot endpoints that answer each request of other applications
   * (forward-auth): each does its own error handling, metrics and headers, and calls `next` for any
   * request it does not answer.
   */
  front?: Middleware[];
}): App {
  const app = new Koa<AppState>({ proxy: options.proxy ?? false });
  const { logger, metrics } = options;
  // Koa's own error printing would bypass pino; our middleware handles every error.
  app.silent = true;
  for (const middleware of options.front ?? []) app.use(middleware);
  app.use(async (ctx, next) => {
    const started = process.hrtime.bigint();
    const requestId = randomUUID();
    ctx.state = new RequestState(requestId, logger);
    ctx.set('X-Request-Id', requestId);
    setSecurityHeaders(ctx);
    try {
      await next();
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      // Route templates (not raw paths) keep label cardinality bounded.
      const route = (ctx as { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
      const labels = { method: ctx.method, route: String(route), status: String(ctx.status) };
      metrics?.httpDuration.observe(labels, seconds);
      metrics?.httpRequests.inc(labels);
      // The access line is debug: skipped unless enabled, before anything is built for it.
      if (logger.isLevelEnabled('debug'))
        ctx.state.log.debug(
          { method: ctx.method, path: ctx.path, status: ctx.status, ms: seconds * 1000 },
          'http',
        );
    }
  });
  app.use(problemMiddleware(logger));
  return app;
}
