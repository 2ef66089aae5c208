// Query strings through zod: a 400 problem naming each bad parameter, or the typed query.
import type { Context } from 'koa';
import type { z } from 'zod';
import { HttpProblem } from '../errors.js';

/** `ctx.query` parsed by `schema`; unknown parameters of a strict schema are named in the problem. */
export function readQuery<S extends z.ZodType>(ctx: Pick<Context, 'query'>, schema: S): z.output<S> {
  const parsed = schema.safeParse({ ...ctx.query });
  if (!parsed.success) {
    throw new HttpProblem(
      400,
      'bad_request',
      'Invalid query parameters',
      parsed.error.issues.map((i) => ({
        path: i.path.map(String).join('.') || (i.code === 'unrecognized_keys' ? i.keys.join(',') : ''),
        message: i.message,
      })),
    );
  }
  return parsed.data;
}
