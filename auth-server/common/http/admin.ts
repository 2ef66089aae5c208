// The admin listener: liveness, readiness (every dependency answers) and Prometheus metrics.
import Router from '@koa/router';
import type { Logger } from '../logging.js';
import type { Metrics } from '../metrics.js';
import { type App, createHttpApp } from './app.js';

export interface ReadinessCheck {
  name: string;
  check: () => Promise<unknown>;
}

export interface AdminOptions {
  logger: Logger;
  metrics: Metrics;
  checks: () => ReadinessCheck[];
  /** False once shutdown has begun: load balancers stop sending new work. */
  accepting: () => boolean;
  checkTimeoutMs?: number;
}

async function runCheck(c: ReadinessCheck, timeoutMs: number): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      c.check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return undefined;
  } catch (err) {
    return (err as Error).message || 'failed';
  } finally {
    clearTimeout(timer);
  }
}

export function createAdminApp(options: AdminOptions): App {
  const app = createHttpApp({ logger: options.logger });
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    const timeout = options.checkTimeoutMs ?? 2000;
    const checks = options.checks();
    const results = await Promise.all(checks.map((c) => runCheck(c, timeout)));
    const failures: Record<string, string> = {};
    checks.forEach((c, i) => {
      const failure = results[i];
      if (failure !== undefined) failures[c.name] = failure;
    });
    const ready = options.accepting() && Object.keys(failures).length === 0;
    if (!ready) options.logger.warn({ failures, accepting: options.accepting() }, 'not ready');
    ctx.status = ready ? 200 : 503;
    ctx.body = {
      status: ready ? 'ready' : 'unavailable',
      checks: Object.fromEntries(checks.map((c) => [c.name, failures[c.name] ?? 'ok'])),
      ...(options.accepting() ? {} : { shuttingDown: true }),
    };
  });
  router.get('/metrics', async (ctx) => {
    ctx.type = options.metrics.registry.contentType;
    ctx.body = await options.metrics.registry.metrics();
  });
  app.use(router.routes()).use(router.allowedMethods());
  return app;
}
