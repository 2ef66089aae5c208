// One error middleware renders every failure as problem JSON; unexpected errors are logged, never shown.
import type { Middleware } from 'koa';
import { HttpProblem } from '../errors.js';
import type { Logger } from '../logging.js';

export function problemMiddleware(logger: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new HttpProblem(404, 'not_found');
      if (ctx.status === 405 && ctx.body === undefined) throw new HttpProblem(405, 'method_not_allowed');
    } catch (err) {
      const problem = toProblem(err);
      if (problem.status >= 500) logger.error({ err, path: ctx.path }, 'request failed');
      ctx.status = problem.status;
      ctx.set(problem.headers);
      ctx.type = 'application/problem+json';
      ctx.body = problem.toJSON();
    }
  };
}

function toProblem(err: unknown): HttpProblem {
  if (err instanceof HttpProblem) return err;
  // Errors thrown by koa / @koa/router / http-errors carry a status and `expose`.
  const e = err as { status?: unknown; expose?: unknown; message?: unknown };
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    const code = e.status === 404 ? 'not_found' : e.status === 405 ? 'method_not_allowed' : 'bad_request';
    return new HttpProblem(
      e.status,
      code,
      e.expose === true && typeof e.message === 'string' ? e.message : undefined,
    );
  }
  return new HttpProblem(500, 'internal');
}
